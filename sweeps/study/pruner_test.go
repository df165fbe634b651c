package study

import (
	"strings"
	"testing"
)

const prunedGrid = "epochs: 9\ngrid:\n  lr: [0.1, 0.01]\n  batch: [16, 32]\n"

func TestPrunerParses(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want Pruner
	}{
		{prunedGrid + "pruner: sha\n", Pruner{Kind: "sha", Eta: 3, MinEpochs: 1, Startup: 5}},
		{prunedGrid + "pruner: {kind: hyperband, eta: 2, min_epochs: 2, brackets: 2}\n", Pruner{Kind: "hyperband", Eta: 2, MinEpochs: 2, Brackets: 2, Startup: 5}},
		{prunedGrid + "pruner: {kind: median, min_epochs: 3, startup: 2}\n", Pruner{Kind: "median", Eta: 3, MinEpochs: 3, Startup: 2}},
		{"random: {n: 4, params: {lr: {log_uniform: [0.001, 0.1]}}}\npruner: {kind: asha, eta: 4}\n", Pruner{Kind: "asha", Eta: 4, MinEpochs: 1, Startup: 5}},
	} {
		s, err := ParseStudy([]byte(tc.src), "study.yaml")
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		if s.Pruner == nil || *s.Pruner != tc.want {
			t.Errorf("%s: pruner %+v, want %+v", tc.src, s.Pruner, tc.want)
		}
	}
	if s, err := ParseStudy([]byte(prunedGrid), "study.yaml"); err != nil || s.Pruner != nil {
		t.Errorf("no pruner: %+v (%v)", s.Pruner, err)
	}
}

const tpeSampler = "sampler: {kind: tpe, n: 20, params: {lr: {log_uniform: [0.001, 0.1]}}}\n"

// TestSampledPrunerBatch: a pruner beside a sampler proposes η² at a time
// unless sampler.batch says otherwise (never more than the trials); a
// sampler alone leaves the batch to the caller.
func TestSampledPrunerBatch(t *testing.T) {
	for _, tc := range []struct {
		src   string
		batch int
	}{
		{tpeSampler + "pruner: sha\n", 9},
		{tpeSampler + "pruner: {kind: hyperband, eta: 4}\n", 16},
		{"sampler: {kind: tpe, n: 5, params: {lr: {log_uniform: [0.001, 0.1]}}}\npruner: sha\n", 5},
		{"sampler: {kind: tpe, n: 20, batch: 6, params: {lr: {log_uniform: [0.001, 0.1]}}}\npruner: sha\n", 6},
		{tpeSampler, 0},
	} {
		s, err := ParseStudy([]byte("epochs: 9\n"+tc.src), "study.yaml")
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		if s.Search.Batch != tc.batch {
			t.Errorf("%s: batch %d, want %d", tc.src, s.Search.Batch, tc.batch)
		}
	}
}

// TestPrunerErrors: bad pruners are refused with line, key and reason.
func TestPrunerErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		line      int
		key, msg  string
	}{
		{"eta below 2", prunedGrid + "pruner: {kind: sha, eta: 1}\n", 5, "pruner.eta", "η = 1: the reduction factor must be at least 2"},
		{"min_epochs above epochs", prunedGrid + "pruner:\n  kind: asha\n  min_epochs: 10\n", 7, "pruner.min_epochs", "10 is above the study's 9 epochs"},
		{"axes study", "axes:\n  - {name: lr, key: lr, values: [0.1, 0.01]}\npruner: sha\n", 3, "pruner", "an axes study shows every value of each axis"},
		{"one configuration", "base: {lr: 0.1}\npruner: median\n", 2, "pruner", "one configuration"},
		{"epochs vary", "grid:\n  epochs: [2, 4]\npruner: sha\n", 3, "pruner", "every configuration trains the study's epochs"},
		{"unknown kind", prunedGrid + "pruner: {kind: bohb}\n", 5, "pruner.kind", `unknown pruner "bohb" (want sha, asha, hyperband, median)`},
		{"no kind", prunedGrid + "pruner: {eta: 3}\n", 5, "pruner", "missing kind"},
		{"unknown key", prunedGrid + "pruner: {kind: sha, grace: 1}\n", 5, "pruner.grace", "unknown key"},
		{"min_epochs 0", prunedGrid + "pruner: {kind: sha, min_epochs: 0}\n", 5, "pruner.min_epochs", "out of range"},
		{"asha with a sampler", tpeSampler + "pruner: asha\n", 2, "pruner", "use kind sha or hyperband (asha judges across the whole study"},
		{"median with a sampler", tpeSampler + "pruner: median\n", 2, "pruner", "use kind sha or hyperband (median"},
		{"batch of one", "sampler: {kind: tpe, n: 8, batch: 1, params: {lr: {log_uniform: [0.001, 0.1]}}}\npruner: sha\n", 1, "sampler.batch", "a batch of one configuration has nothing to be compared with"},
		{"batch 0", "sampler: {kind: tpe, n: 8, batch: 0, params: {lr: {log_uniform: [0.001, 0.1]}}}\n", 1, "sampler.batch", "out of range"},
		{"one trial", "sampler: {kind: tpe, n: 1, params: {lr: {log_uniform: [0.001, 0.1]}}}\npruner: sha\n", 1, "sampler.n", "a pruner needs n ≥ 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := studyErrors(t, tc.src)
			e := errs[0]
			if len(errs) != 1 || e.Line != tc.line || e.Key != tc.key || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("got %v; want line %d key %s: …%s…", errs, tc.line, tc.key, tc.msg)
			}
		})
	}
}
