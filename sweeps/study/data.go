package study

import (
	"fmt"

	"github.com/mlpsweep/mlpsweep/datasets"
)

// LoadData loads a study's training data.
func LoadData(spec DataSpec) (*datasets.Dataset, error) {
	switch spec.Kind {
	case "mnist":
		train, _, err := datasets.MNIST(spec.Path)
		return train, err
	case "idx":
		return datasets.LoadIDX(spec.Path, spec.Labels)
	case "csv":
		return datasets.LoadCSV(spec.Path, datasets.CSVOptions{LabelColumn: spec.Label, Scale: spec.Scale})
	}
	return nil, fmt.Errorf("unknown data kind %q", spec.Kind)
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
