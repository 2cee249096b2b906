// Package sdk is what a task plugin imports: Serve, and through package tasks
// the same building blocks the built-in tasks use (the recurrent encoder, the
// training core with optimizers and checkpoints, the metrics), so that a plugin
// holds only what is new about its task.
//
// A task whose data is not a sequence of examples declares tables
// (tasks.Info.Tables) and reads them in Init (tasks.Setup.Table); the helpers
// here read their columns (Int64s, Strings, Int64Lists), turn an id column
// into row numbers and an edge list into row pairs (Rows, Pairs), and multiply
// by a sparse matrix (CSR), which is what a graph network needs. With
// tasks.Info.WholeDataset the task trains on its tables whole, one step an
// epoch (../proto/PROTOCOL.md, "Whole-dataset tasks"); plugins/examples/gcn
// is one.
//
// A plugin is a binary named seqkit-plugin-NAME whose main calls Serve:
//
//	func main() { sdk.Serve(forecast.Type()) }
//
// seqkit starts it as a child process and talks to it over gRPC
// (hashicorp/go-plugin); ../proto/PROTOCOL.md describes the protocol for
// other languages.
//
// Standard output carries the handshake with seqkit, so nothing else may reach
// it: when seqkit starts the plugin, this package points the process's
// standard output at standard error from the start (before main runs), and
// hands the real one to the handshake alone. Whatever the task prints or logs
// shows in seqkit's log, prefixed with the plugin's name. Log with the log
// package, or write to Stderr: those lines go straight to the process's
// standard error, so they reach seqkit even when the plugin crashes right after
// (what goes to os.Stdout or os.Stderr while serving travels over the
// connection and may be lost with it).
package sdk

import (
	"log"
	"os"

	"github.com/seqkit/seqkit/plugins"
	"github.com/seqkit/seqkit/tasks"
)

// Task is the interface a plugin's task implements: the one the built-in tasks
// implement.
type Task = tasks.Task

// Type registers a task type: its name (the NAME of seqkit-plugin-NAME), its
// options struct and checks, and a constructor.
type Type = tasks.Type

// handshake is the process's real standard output, kept for the handshake
// line; nil when seqkit did not start this process.
var handshake *os.File

// Stderr is the process's standard error, for logs that must survive a crash.
var Stderr = os.Stderr

func init() {
	handshake = guardStdout()
	log.SetOutput(Stderr)
}

// launched says whether seqkit started this process.
func launched() bool {
	return os.Getenv(plugins.Handshake.MagicCookieKey) == plugins.Handshake.MagicCookieValue
}

// Serve serves the task type t to seqkit until seqkit is done with it.
func Serve(t Type) {
	if handshake != nil {
		os.Stdout = handshake
	}
	plugins.Serve(t)
}
