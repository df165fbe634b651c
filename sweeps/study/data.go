package study

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/mlpsweep/mlpsweep/datasets"
)

// LoadData loads a study's training data.
func LoadData(spec DataSpec, rows int) (*datasets.Dataset, error) {
	d, err := loadData(spec, rows)
	if spec.Path != "" { // not the pinned MNIST module's files
		err = notFound(err, "data")
	}
	return d, err
}

// notFound adds to an error for a missing file where its path came from:
// the study file's key, whose relative paths are taken from the study
// file's folder (not the current one, as a user may have written them).
func notFound(err error, key string) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w (%s: in the study file; a relative path there is taken from the study file's folder)", err, key)
	}
	return err
}

func loadData(spec DataSpec, rows int) (*datasets.Dataset, error) {
	switch spec.Kind {
	case "mnist":
		return datasets.MNISTTrain(spec.Path, rows)
	case "idx":
		return datasets.LoadIDXHead(spec.Path, spec.Labels, rows)
	case "csv":
		// The whole file: its scaling and classes come from every row.
		d, err := datasets.LoadCSV(spec.Path, datasets.CSVOptions{LabelColumn: spec.Label, Scale: spec.Scale})
		if err != nil || rows <= 0 {
			return d, err
		}
		return d.Head(rows), nil
	}
	return nil, fmt.Errorf("unknown data kind %q", spec.Kind)
}

// LoadTestData loads the held-out test set of a study's data, for a refit:
// MNIST's 10,000 test images, or the CSV file spec.Test read as train was
// (train's scaling and classes; every label must be one of train's; with
// headers, the same feature columns in the same order). A
// study on an IDX file pair, or on a CSV file without a test file, has
// none: the error says so.
func LoadTestData(spec DataSpec, train *datasets.Dataset) (*datasets.Dataset, error) {
	switch {
	case spec.Kind == "mnist":
		return datasets.MNISTTest(spec.Path)
	case spec.Kind == "csv" && spec.Test != "":
		test, err := datasets.LoadCSV(spec.Test, datasets.CSVOptions{LabelColumn: spec.Label, Scaling: train.Scaling, ClassNames: train.ClassNames,
			Features: train.Features, FeatureNames: train.FeatureNames})
		if err != nil {
			return nil, fmt.Errorf("test set: %w", notFound(err, "data.test"))
		}
		if test.Labels == nil {
			return nil, fmt.Errorf("test set %s: it has %d columns, the features only; a test set needs the label column too", spec.Test, test.Features)
		}
		return test, nil
	case spec.Kind == "csv":
		return nil, fmt.Errorf("a refit is scored on a held-out test set, and CSV file %s has none: give one (sweep --test FILE, or test: FILE under data: in the study file)", spec.Path)
	}
	return nil, fmt.Errorf("a refit is scored on a held-out test set, and %s has none (a refit needs MNIST or a CSV file with a test file)", spec)
}

// String describes where the data comes from.
func (d DataSpec) String() string {
	switch d.Kind {
	case "mnist":
		if d.Path == "" {
			return "MNIST training set (pinned GoMNIST data)"
		}
		return "MNIST training set from " + d.Path
	case "idx":
		return fmt.Sprintf("IDX files %s and %s", d.Path, d.Labels)
	case "csv":
		return "CSV file " + d.Path
	}
	return d.Kind
}
