package store

import (
	"errors"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// redactMask replaces a password in Redact's output.
const redactMask = "xxxxx"

// Redact returns a PostgreSQL connection string fit for a message: the
// password masked in every form pgx accepts — a postgres:// or
// postgresql:// URL (the user-info password and the password= and
// sslpassword= query parameters, however percent-encoded), libpq's
// keyword/value form (password=…, quoted or not, spaces around '=', with
// backslash escapes) — and in strings that parse as neither: a malformed
// URL loses everything between "://" and its last '@', a malformed
// keyword/value string everything from the first key that mentions a
// password. Passwords given by the environment (PGPASSWORD) or a
// .pgpass file are never part of the string, so never printed.
func Redact(conn string) string {
	lower := strings.ToLower(conn)
	if strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://") {
		return redactURL(conn)
	}
	if i := strings.Index(conn, "://"); i >= 0 && !strings.ContainsAny(conn[:i], " =") {
		return redactURL(conn) // another scheme: still a URL for masking
	}
	return redactKeywords(conn)
}

// passwordKey reports whether a connection parameter carries a secret.
func passwordKey(key string) bool {
	k := strings.ToLower(strings.TrimSpace(key))
	return k == "password" || k == "sslpassword"
}

// redactURL masks the user-info password (after the first ':' of what lies
// between "://" and the last '@' before the query) and secret query
// parameters.
func redactURL(s string) string {
	scheme := strings.Index(s, "://") + 3
	rest, query, hasQuery := s[scheme:], "", false
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		// The query starts at the first '?' after the user info.
		if q := strings.Index(rest[at:], "?"); q >= 0 {
			rest, query, hasQuery = s[scheme:scheme+at+q], s[scheme+at+q+1:], true
		}
		userinfo := rest[:at]
		if c := strings.Index(userinfo, ":"); c >= 0 {
			rest = userinfo[:c+1] + redactMask + rest[at:]
		}
	} else if q := strings.Index(rest, "?"); q >= 0 {
		rest, query, hasQuery = rest[:q], rest[q+1:], true
	}
	out := s[:scheme] + rest
	if !hasQuery {
		return out
	}
	params := strings.Split(query, "&")
	for i, p := range params {
		k, _, found := strings.Cut(p, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if passwordKey(k) || !found && strings.Contains(strings.ToLower(k), "password") {
			params[i] = p[:strings.Index(p+"=", "=")] + "=" + redactMask
		}
	}
	return out + "?" + strings.Join(params, "&")
}

// redactKeywords masks the values of secret keys in libpq's keyword/value
// form: key = value pairs separated by spaces, a value quoted with ' (\'
// and \\ inside) or plain (backslash escapes a character). Where the string
// stops being that form, everything after the last pair read is masked if
// it mentions a password.
func redactKeywords(s string) string {
	var b strings.Builder
	i := 0
	skip := func() {
		for i < len(s) && strings.IndexByte(" \t\n\r\f\v", s[i]) >= 0 {
			i++
		}
	}
	for {
		start := i
		skip()
		if i == len(s) {
			b.WriteString(s[start:])
			return b.String()
		}
		k := i
		for i < len(s) && s[i] != '=' && strings.IndexByte(" \t\n\r\f\v", s[i]) < 0 {
			i++
		}
		key := s[k:i]
		skip()
		if i == len(s) || s[i] != '=' {
			return b.String() + maskRest(s[start:])
		}
		i++
		skip()
		v := i
		if i < len(s) && s[i] == '\'' {
			for i++; i < len(s) && s[i] != '\''; i++ {
				if s[i] == '\\' {
					i++
				}
			}
			if i >= len(s) { // unterminated quote
				return b.String() + maskRest(s[start:])
			}
			i++
		} else {
			for ; i < len(s) && strings.IndexByte(" \t\n\r\f\v", s[i]) < 0; i++ {
				if s[i] == '\\' {
					i++
				}
			}
			i = min(i, len(s))
		}
		b.WriteString(s[start:v])
		if passwordKey(key) {
			b.WriteString(redactMask)
		} else {
			b.WriteString(s[v:i])
		}
	}
}

// maskRest is what is left of a string that no longer parses: kept when it
// names no password, masked from the first mention of one otherwise.
func maskRest(s string) string {
	if i := strings.Index(strings.ToLower(s), "password"); i >= 0 {
		return s[:i] + "password=" + redactMask
	}
	return s
}

// parseCause is why pgx could not parse a connection string, without the
// string itself: pgconn's message quotes it masked by rules that miss some
// forms, and net/url's quotes it whole.
func parseCause(err error) string {
	var pe *pgconn.ParseConfigError
	if !errors.As(err, &pe) {
		return err.Error()
	}
	msg := pe.Error() // "cannot parse `CONN`: WHY (CAUSE)"
	if i := strings.LastIndex(msg, "`: "); i >= 0 {
		msg = msg[i+3:]
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = strings.ReplaceAll(msg, ue.Error(), ue.Op+": "+ue.Err.Error())
	}
	if conn := pe.ConnString; conn != "" {
		msg = strings.ReplaceAll(msg, conn, Redact(conn))
	}
	return msg
}
