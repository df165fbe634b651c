package study

// spec is a study file read and checked, in plain values: parse makes it
// from YAML, expand makes the points from it. It has at most one of axes,
// grid, random and sampler; with none, the study's one point is the base.
type spec struct {
	file   string // names the file in messages
	name   string
	data   DataSpec
	folds  int
	seed   int64 // KFold random_state and root of every unit seed
	metric string
	refit  bool // train the best configuration on all rows and score it on the test set
	fuse   bool // fuse:, default true
	pruner *prunerSpec

	epochs   int // top-level epochs; 0 when not given
	base     []setting
	baseLine int // line of base: (1 without one), for a base that does not normalize
	axes     []axisSpec
	grid     []gridKey
	gridLine int
	random   *randomSpec
	sampler  *samplerSpec
}

// setting is one config key: value.
type setting struct {
	key   string
	value value
}

// value is a config value as written, checked against every key it sets.
type value struct {
	text string // as written: "1e-3", "relu", "[128, 64]"; the axis value shown in results
	line int
	x    any // int64, float64, bool, string or []int (layer widths)
}

// axisSpec is one entry of axes: each value set on every key, over set,
// over the base.
type axisSpec struct {
	name   string
	keys   []string
	values []value
	set    []setting
}

// gridKey is one key of grid: and the values it takes.
type gridKey struct {
	key    string
	values []value
}

// randomSpec is the random: section: n distinct configurations sampled
// from per-key distributions with a PCG seeded by seed.
type randomSpec struct {
	n          int
	nLine      int
	seed       int64 // random.seed, or the study seed
	params     []randomParam
	paramsLine int
}

// randomParam is one sampled key: {choice: [...]}, {uniform: [lo, hi]},
// {log_uniform: [lo, hi]} or {int: [lo, hi]}.
type randomParam struct {
	key     string
	dist    string
	choices []value
	lo, hi  float64
}
