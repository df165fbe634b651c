// Package sweeps runs hyperparameter studies of MLPs with cross-validation,
// resumably, and renders their results.
//
// A study (a YAML file, see ParseStudy and examples/seed.yaml, or a built-in
// preset) expands into configurations (Points): one axis at a time from a
// base config, a grid (cartesian product) and random samples. Each
// configuration is trained once per fold of scikit-learn's KFold split; one
// (config, fold) pair is a work unit. Configurations that normalize to the
// same engine.Config share a content key (ConfigKey) and train once, however
// many axes show them.
//
// Run trains the units on a pool of workers, each with its own
// single-threaded kernels.Context; when fewer units than workers remain, a
// starting unit gets the idle cores as GEMM threads. A unit's seed is
// UnitSeed(study seed, config key, fold), so every number is the same for
// any worker count and order, and CrossValidate (mlpsweep train --folds)
// reproduces a sweep's units.
//
// Results live in OUT/mlpsweep.db (SQLite, WAL): each unit is committed in
// one transaction when it finishes, keyed by everything its numbers depend
// on (config key, fold, split, unit seed, data fingerprint, engine version
// and kernel ISA). Running a study again skips finished units and reruns
// the ones that were in flight when it stopped (Ctrl-C or a crash); units
// already trained by another study in the same directory are reused. A
// unit whose loss became NaN or infinite is finished, flagged Diverged, and
// scored with the accuracy its model has as training stopped (with NaN
// weights that is usually one class: about 1/classes). A unit that failed
// otherwise is recorded with its error, left out of the means, and run
// again next time.
//
// WriteTables and WriteReport render a StudyResult (from Run or LoadStudy)
// as text tables and as results.csv, results.json and report.html.
package sweeps
