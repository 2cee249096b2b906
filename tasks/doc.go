// Package tasks defines the Task interface that built-in and plugin tasks
// implement and the explicit task registry, and runs them: the shared
// training and evaluation loop, a run from recipe to report (Run), loading a
// trained run (LoadRun), preparing its data and predicting in batch. The run
// directory's layout and files are package rundir's; what tasks compose their
// models from is package kit's.
package tasks
