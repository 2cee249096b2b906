// Command seqkit trains, evaluates and runs recurrent sequence models from YAML
// recipes.
//
//	seqkit run                  train and evaluate the built-in Taipei demo
//	seqkit run RECIPE -o DIR    train, evaluate on test, write a report
//	seqkit predict -m DIR --input in.txt --output out.jsonl
//
// Run seqkit help for every command.
package main

//go:generate sh -c "go run . recipe schema > ../../recipes/recipe.schema.json"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/seqkit/seqkit/internal/quote"
	"github.com/seqkit/seqkit/model"
	"github.com/seqkit/seqkit/plugins"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/rundir"
)

// Exit codes.
const (
	exitFailure = 1
	exitUsage   = 2 // bad command line or bad recipe
	exitStopped = 130
)

// usageError marks an error as the user's command line.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

func main() {
	e := &env{host: &plugins.Host{Log: os.Stderr}}
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go e.stopOn(sigs, cancel)
	cmd := newRoot(e)
	err := cmd.ExecuteContext(ctx)
	// Every plugin process stops here, on every way out.
	e.host.Close()
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "seqkit:", err)
	var ue usageError
	var sig signalled
	switch {
	case errors.As(context.Cause(ctx), &sig):
		os.Exit(sig.code())
	case errors.As(err, &ue), errors.Is(err, recipes.ErrRecipe), errors.Is(err, rundir.ErrRunDir),
		strings.HasPrefix(err.Error(), "unknown command "): // cobra's, untyped
		os.Exit(exitUsage)
	case errors.Is(err, tasks.ErrStopped):
		os.Exit(exitStopped)
	}
	os.Exit(exitFailure)
}

// signalled is the cause of a command's context once a signal stopped it.
type signalled struct{ sig os.Signal }

func (s signalled) Error() string { return "stopped by " + signalName(s.sig) }

// code is the shell's exit code for death by the signal: 130 for SIGINT,
// 143 for SIGTERM.
func (s signalled) code() int {
	if s.sig == syscall.SIGTERM {
		return 128 + int(syscall.SIGTERM)
	}
	return exitStopped
}

func signalName(s os.Signal) string {
	if s == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "Ctrl-C (SIGINT)"
}

// stopGrace is how long a command other than training has, after the first
// signal, to stop by itself before it is stopped.
const stopGrace = 750 * time.Millisecond

// stopOn cancels the commands' context at the first signal: training stops at
// the next step with a checkpoint, reading and predicting at the next record
// batch, each removing what it was writing. A command that has not returned
// within stopGrace (one blocked on a read, say) is stopped here, its
// registered temporary files removed. After the first signal the signals act
// as usual, so a second one quits at once.
func (e *env) stopOn(sigs chan os.Signal, cancel context.CancelCauseFunc) {
	sig := <-sigs
	signal.Stop(sigs)
	cancel(signalled{sig})
	if e.graceful.Load() {
		return // training: its checkpoint may take longer than the grace
	}
	time.Sleep(stopGrace)
	e.mu.Lock() // held to the end: no new temporary file is registered
	for _, p := range e.temps {
		os.RemoveAll(p)
	}
	e.host.Close()
	fmt.Fprintln(os.Stderr, "seqkit:", signalled{sig})
	os.Exit(signalled{sig}.code())
}

// env is what the commands share: the plugin host, which starts plugin tasks
// and stops them all when the command ends, and what a signal needs to stop
// a command.
type env struct {
	host      *plugins.Host
	pluginDir string // --plugin-dir

	graceful atomic.Bool // set by training, which stops by itself at the next step
	mu       sync.Mutex
	temps    []string // removed if a signal has to stop the command
}

// temp registers a temporary file or folder of the command, removed if a
// signal has to stop it; the command removes it itself on every other way out.
func (e *env) temp(path string) {
	e.mu.Lock()
	e.temps = append(e.temps, path)
	e.mu.Unlock()
}

// registry holds the task types of this binary, registered explicitly: the
// built-in tasks and "plugin", which runs a task plugin.
func (e *env) registry() *tasks.Registry {
	if e.host == nil {
		e.host = &plugins.Host{}
	}
	e.host.Dirs = plugins.SearchDirs(e.pluginDir)
	reg := model.Builtin()
	if err := reg.Register(e.host.Type()); err != nil {
		panic(err) // a built-in task named plugin: a programming error
	}
	return reg
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "seqkit",
		Short: "Train, evaluate and run recurrent sequence models from YAML recipes",
		Long: `seqkit trains recurrent networks (RNN, LSTM, GRU) for sequence tasks from a YAML
recipe: it reads and caches the data, trains, evaluates, saves the model and
predicts in batch. With no recipe, seqkit run trains the built-in Taipei demo.`,
		Example: `  seqkit run                                  # the built-in Taipei demo
  seqkit run my.yaml -o runs/my --set model.hidden=256
  seqkit predict -m runs/my --input new.txt --output out.jsonl
  seqkit recipe list`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	var cpuprofile string
	root.PersistentFlags().StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile (pprof) of the command to this file")
	root.PersistentFlags().MarkHidden("cpuprofile")
	root.PersistentFlags().StringVar(&e.pluginDir, "plugin-dir", "", "folder searched first for task plugins (then $SEQKIT_PLUGIN_PATH, then ./plugins/bin)")
	var stopProfile func()
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if cpuprofile == "" {
			return nil
		}
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
		return nil
	}
	root.PersistentPostRun = func(*cobra.Command, []string) {
		if stopProfile != nil {
			stopProfile()
		}
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w\nsee %s --help", err, c.CommandPath())}
	})
	root.AddCommand(newRunCmd(e, true), newRunCmd(e, false), newEvalCmd(e), newPredictCmd(e), newServeCmd(e), newExportCmd(e), newGenerateCmd(e),
		newDataCmd(e), newRecipeCmd(e), newPluginsCmd(e), newVersionCmd())
	for _, group := range root.Commands() {
		if group.HasSubCommands() && group.RunE == nil {
			// cobra shows a group's help, exit 0, for a subcommand it lacks.
			group.Args = cobra.ArbitraryArgs
			group.RunE = func(c *cobra.Command, a []string) error {
				if len(a) > 0 {
					return usageError{fmt.Errorf("unknown command %s for %q\nsee %s --help", quote.Q(a[0]), c.CommandPath(), c.CommandPath())}
				}
				return c.Help()
			}
		}
	}
	return root
}

// args wraps cobra's argument checks so that their errors are usage errors.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(c *cobra.Command, a []string) error {
		if err := check(c, a); err != nil {
			return usageError{fmt.Errorf("%w\nsee %s --help", err, c.CommandPath())}
		}
		return nil
	}
}
