// Package tasks defines the Task interface that built-in and plugin tasks implement,
// the explicit task registry, and the shared training and evaluation loop and metrics.
package tasks
