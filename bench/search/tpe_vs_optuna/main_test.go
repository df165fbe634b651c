package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/sweeps/tpe"
)

// TestMinima: each function takes its minimum at the known minimizer, and
// no random point of its space goes below it.
func TestMinima(t *testing.T) {
	at := map[string][]float64{
		"hartmann6": {0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573},
		"mixed":     {2, 0, 1, -2, 1e-3, 20},
		"branin":    {math.Pi, 2.275},
		"hartmann3": {0.114614, 0.555649, 0.852547},
		"func2c":    {1, 1, 0.0898420131 / 2, -0.7126564030 / 2},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, fn := range functions {
		x, ok := at[fn.name]
		if !ok {
			t.Fatalf("%s: no minimizer", fn.name)
		}
		if got := fn.f(x); math.Abs(got-fn.min) > 1e-5 {
			t.Errorf("%s at %v = %.7g, want %.7g", fn.name, x, got, fn.min)
		}
		for range 100000 {
			y := make([]float64, len(fn.space))
			for d, p := range fn.space {
				switch p.Kind {
				case tpe.Choice:
					y[d] = float64(rng.IntN(p.Choices))
				case tpe.LogUniform:
					y[d] = math.Exp(math.Log(p.Low) + (math.Log(p.High)-math.Log(p.Low))*rng.Float64())
				case tpe.Int:
					y[d] = p.Low + float64(rng.IntN(int(p.High-p.Low)+1))
				default:
					y[d] = p.Low + (p.High-p.Low)*rng.Float64()
				}
			}
			if v := fn.f(y); v < fn.min-1e-6 {
				t.Fatalf("%s at %v = %.7g, below the minimum %.7g", fn.name, y, v, fn.min)
			}
		}
	}
}

// TestCheck: the check passes at 1.1× Optuna's median regret and fails
// above it, or when a TPE does not beat random search.
func TestCheck(t *testing.T) {
	write := func(name string, recs []record) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		for _, r := range recs {
			if err := enc.Encode(r); err != nil {
				t.Fatal(err)
			}
		}
		f := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(f, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	runs := func(ours, theirs, random float64) []string {
		var a, b []record
		for _, fn := range []string{"hartmann6", "mixed"} {
			m := map[string]float64{"hartmann6": -3.32237, "mixed": 0}[fn]
			for seed := range 3 {
				a = append(a, record{fn, "mlpsweep-tpe", seed, m + ours}, record{fn, "mlpsweep-random", seed, m + random})
				b = append(b, record{fn, "optuna-tpe", seed, m + theirs}, record{fn, "optuna-random", seed, m + random})
			}
		}
		return []string{write("ours.jsonl", a), write("optuna.jsonl", b)}
	}
	for _, c := range []struct {
		ours, theirs, random float64
		pass                 bool
	}{
		{0.1, 0.1, 1, true},
		{0.109, 0.1, 1, true},
		{0.12, 0.1, 1, false},
		{0.05, 0.1, 0.08, false}, // Optuna's TPE does not beat random search
	} {
		var out strings.Builder
		err := printTable(&out, runs(c.ours, c.theirs, c.random))
		if (err == nil) != c.pass || err != nil && !errors.Is(err, errCheck) {
			t.Errorf("ours %v, Optuna %v, random %v: %v, want pass %v\n%s", c.ours, c.theirs, c.random, err, c.pass, out.String())
		}
	}
}
