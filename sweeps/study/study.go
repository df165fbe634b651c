// Package study is mlpsweep's study language. A study file (YAML, or a
// built-in preset) goes through two steps: parse reads it into a spec, plain
// Go values checked key by key with the lines messages need (yaml.go is the
// only file that sees the YAML library); expand turns the spec into a Study,
// the configurations (Points) to train, each a normalized Params.
package study

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Study is a parsed and expanded study file: the data, the cross-validation
// and every configuration to train, in order.
type Study struct {
	Name   string
	Data   DataSpec
	Folds  int     // k of the KFold split (≥ 2)
	Seed   int64   // KFold random_state and root of every unit seed, in [0, 2³²)
	Metric string  // "accuracy"
	Refit  bool    // after the study, train the best configuration by Metric on all training rows and score it on the test set
	Fuse   bool    // train the configurations of a fold fused (engine.Group); the file's fuse:, default true
	Pruner *Pruner // stops configurations early; nil: every configuration trains every epoch
	Base   Params
	Points []Point // axis by axis and value by value, the grid's combinations or the random samples
	// Search is the sampler that proposes the configurations of a study
	// with a sampler: section (and no Points); nil otherwise.
	Search *Search
	// Notes say what in the file does nothing, for the command to print
	// ("study.yaml:4: base.nesterov: nesterov: true changes nothing …").
	Notes []string
}

// Point is one configuration of a study and where it comes from.
type Point struct {
	Axis   string // axis name; "grid", "random", or "base" for a study with no axes
	Value  string // the axis value as written ("1e-3", "[128, 64]", "lr=0.01, batch=64")
	Params Params // the configuration
}

// DataSpec says where a study's training data comes from.
type DataSpec struct {
	Kind   string // "mnist" (Path: IDX directory, "" = the pinned GoMNIST data), "idx" or "csv"
	Path   string // csv: the file; idx: the images file
	Labels string // idx: the labels file
	Label  string // csv: the label column (name or 0-based index; "" = the last)
	Scale  string // csv: feature scaling (datasets.CSVOptions.Scale)
	Test   string // csv: the held-out file a refit is scored on ("" = none)
}

// StudyError is a problem in a study file, at a line, under a key path such
// as "axes[2].values" or "base.lr".
type StudyError struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *StudyError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Key, e.Msg)
}

// Limits on what a study expands to, checked before it allocates
// (MaxFileBytes, MaxDepth and MaxNodes bound the file itself).
const (
	// MaxConfigurations bounds a study's configurations: a grid's product,
	// a random search's n, the values of all axes together. Expanding
	// 20,000 allocates about 45 MB; a study of that many is already days
	// of training on any machine.
	MaxConfigurations = 20_000
	// MaxUnits bounds configurations × folds, the trainings of a study,
	// in a study file and in a database that claims to hold one.
	MaxUnits = 1_000_000
	// MaxFolds bounds folds:; MaxEpochs bounds epochs: and every batch
	// or epoch count a study sets or samples (an int range's high).
	MaxFolds  = 1 << 20
	MaxEpochs = 1 << 30
)

// ReadStudy reads and expands the study file at path. Relative data paths
// in it are taken from the file's directory. A file over MaxFileBytes (or
// a device such as /dev/zero) is refused before it is read whole.
func ReadStudy(path string) (*Study, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxFileBytes {
		return nil, fmt.Errorf("%s: the file is %d bytes, over the limit of %d for a study file", path, fi.Size(), MaxFileBytes)
	}
	src, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(src) > MaxFileBytes {
		return nil, fmt.Errorf("%s: over %d bytes, the limit for a study file", path, MaxFileBytes)
	}
	return ParseStudy(src, path)
}

// ParseStudy parses and expands a study. file names it in error messages;
// relative data paths are resolved against its directory. Every problem
// found is reported (errors.Join of *StudyError), each with line and key.
func ParseStudy(src []byte, file string) (*Study, error) {
	sp, errs := parse(src, file)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	s, errs := expand(sp)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// Axes returns the study's axis names in order of first appearance.
func (s *Study) Axes() []string {
	var names []string
	for _, pt := range s.Points {
		if !slices.Contains(names, pt.Axis) {
			names = append(names, pt.Axis)
		}
	}
	return names
}

// KeepAxes drops every point whose axis is not in names; an unknown name
// is an error listing the study's axes.
func (s *Study) KeepAxes(names []string) error {
	axes := s.Axes()
	for _, n := range names {
		if !slices.Contains(axes, n) {
			return fmt.Errorf("study %s has no axis %q (its axes: %s)", s.Name, n, strings.Join(axes, ", "))
		}
	}
	s.Points = slices.DeleteFunc(s.Points, func(pt Point) bool { return !slices.Contains(names, pt.Axis) })
	return nil
}

// SetEpochs makes every configuration train for epochs epochs (≥ 1).
func (s *Study) SetEpochs(epochs int) {
	s.Base = s.Base.withEpochs(epochs)
	if s.Search != nil {
		s.Search.base.Epochs = epochs
	}
	for i := range s.Points {
		s.Points[i].Params = s.Points[i].Params.withEpochs(epochs)
	}
}

// Configurations counts the study's distinct configurations: a
// configuration shown on several axes counts once.
func (s *Study) Configurations() int {
	keys := map[string]bool{}
	for _, pt := range s.Points {
		keys[pt.Params.Key()] = true
	}
	return len(keys)
}
