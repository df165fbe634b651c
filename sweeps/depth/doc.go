// Package depth runs a depth study (the depth preset, `mlpsweep depth`):
// it trains each variant of a study (an axis: activation, initializer,
// batch norm, skip connections) at several depths (numbers of hidden layers
// of one width) on one held-out split, and records engine.Diagnostics on a
// fixed batch at initialization and after every epoch: how much gradient
// reaches each layer, and what the units do. It has three parts:
//
//   - The runner (depth.go, data.go): PlanDepth makes a DepthPlan of the
//     runs (variant × depth), RunDepth trains them on the sweeps scheduler
//     and store, and DepthPlan.Load assembles a DepthStudyResult from the
//     stored units. Every run is a unit (fold 0 of the held-out split), so
//     a study resumes after any stop and reuses stored runs, and a
//     configuration that two variants share (a depth-1 residual network is
//     a plain one) trains once.
//   - The findings (depth_findings.go): DepthStudyResult.Findings explains
//     the study in a few paragraphs, every number quoted from the runs.
//   - The report (depth_summary.go, depth_report.go): the per-run summaries
//     (DepthSummary, WriteDepthJSON), the text tables (WriteDepthTables)
//     and depth.html with tables, plots and the findings (WriteDepthReport).
package depth
