package depth

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
)

// NewData is a depth study's data: every row of train, scored on test or,
// with test nil, the first rows of train scored on its last fraction
// valSplit. Describe is left to the caller.
func NewData(train, test *datasets.Dataset, valSplit float64) (DepthData, error) {
	d := DepthData{Features: train.Features, Classes: train.Classes, Train: engine.DataOf(train, nil)}
	held := test
	if test == nil {
		tr, val, err := datasets.ValidationSplit(train.N, valSplit)
		if err != nil {
			return d, err
		}
		d.Train.Rows, d.Val = tr, engine.DataOf(train, val)
		d.Split, held = fmt.Sprintf("holdout last %g", valSplit), train
	} else {
		if test.Features != train.Features || test.Classes != train.Classes {
			return d, fmt.Errorf("depth study: %s has %d features and %d classes, %s %d and %d",
				train.Name, train.Features, train.Classes, test.Name, test.Features, test.Classes)
		}
		d.Val = engine.DataOf(test, nil)
		d.Split = "holdout " + test.Name
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "train %s\nheld-out %s", train.Fingerprint(), held.Fingerprint()))
	d.SHA = hex.EncodeToString(sum[:])
	return d, nil
}
