package spell

import "testing"

func TestClosest(t *testing.T) {
	keys := []string{"lr", "l1", "l2", "batch", "epochs", "optimizer", "dropout", "momentum"}
	for name, want := range map[string]string{
		"optimiser": "optimizer", // one letter changed
		"epoch":     "epochs",    // one dropped
		"droput":    "dropout",   // one dropped
		"bach":      "batch",
		"l3":        "",         // l1, l2 and lr are as near: no guess
		"learning":  "",         // nothing within two letters
		"momentum":  "momentum", // itself
		"":          "",
	} {
		if got := Closest(name, keys); got != want {
			t.Errorf("Closest(%q) = %q, want %q", name, got, want)
		}
	}
}
