// Package tasks defines the Task interface that built-in and plugin tasks
// implement, the explicit task registry, the shared training and evaluation
// loop, and the run directory it trains into (layout, lock, checkpoints,
// metrics, report, plots, prediction writers). What tasks compose their
// models from is in tasks/kit.
package tasks
