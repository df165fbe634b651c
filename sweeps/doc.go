// Package sweeps is the result model of mlpsweep's hyperparameter studies:
// work units and their results, and the plan that names them. Its
// sub-packages do the work, each one job:
//
//   - study: the study language. A YAML file (or a built-in preset)
//     becomes a Study: the data, the cross-validation and the
//     configurations (Points) to train, each a normalized study.Params.
//   - scheduler: trains a study's units, (configuration, fold) pairs, on a
//     pool of workers and commits each to the store as it finishes.
//   - store: the studies, configurations and units' results, with resume
//     and reuse of finished units across studies: an SQLite file in the
//     output directory by default, or a PostgreSQL database that processes
//     on several machines share.
//   - queue: runs a study's units on many machines through a River job
//     queue in its PostgreSQL store (enqueue, workers, follow, status).
//   - report: text tables, results.csv and results.json (scikit-learn's
//     cv_results_) and the self-contained report.html.
//   - depth: the depth study ("why are deeper networks harder to train?"),
//     on the same scheduler, store and report.
//
// A unit is identified by everything its numbers depend on (UnitID): the
// configuration's content key, the fold of a split, its seed
// (UnitSeed(study seed, key, fold)), the data fingerprint and the engine
// (EngineID). So every number is the same for any worker count and order,
// and a unit stored by any study in the same store is reused. A unit
// whose loss became NaN or infinite is finished and flagged Diverged, and
// scored with the accuracy its model has as training stopped; a unit that
// failed otherwise (UnitResult.Failed) has no accuracy, is left out of the
// means and runs again next time.
package sweeps
