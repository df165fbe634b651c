package store

import (
	"regexp"
)

// Redact returns a connection string fit for a message: the password of a
// URL (postgres://user:PASSWORD@host/db, and a password=… query
// parameter) or of a keyword/value string (host=h password=PASSWORD, the
// value quoted or not) is replaced by xxxxx. Everything that shows a store's
// location to a user goes through it.
func Redact(s string) string {
	s = urlPassword.ReplaceAllString(s, "${1}xxxxx${2}")
	s = keywordPassword.ReplaceAllString(s, "${1}xxxxx")
	return s
}

var (
	// scheme://user:PASSWORD@ — the last @ ends the user information.
	urlPassword = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*://[^:/?#@]*:)[^/?#]*(@[^@/?#]*(?:[/?#].*)?)$`)
	// password=VALUE, password = 'VAL\'UE', or ?password=VALUE&… in a URL.
	keywordPassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)(?:'(?:[^'\\]|\\.)*'?|[^\s&#]*)`)
)
