package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/seqkit/seqkit/scaleout"
)

// beamFlags is the --runner flag of the commands that can run as a Beam job,
// and the runner's own flags, given after "--".
type beamFlags struct {
	runner string
}

func (b *beamFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&b.runner, "runner", "", "run as an Apache Beam job: prism (embedded, on this machine), flink, spark, dataflow or universal; the runner's flags follow --, e.g. -- --endpoint=localhost:8099 (needs the seqkit-beam program beside seqkit or on PATH)")
}

// split separates a command's own arguments from the runner flags after
// "--", which only --runner takes; own is the number of arguments the
// command takes (-1: one or more).
func (b *beamFlags) split(c *cobra.Command, a []string, own int) ([]string, []string, error) {
	dash := c.ArgsLenAtDash()
	mine, rest := a, []string(nil)
	if dash >= 0 {
		mine, rest = a[:dash], a[dash:]
	}
	if len(rest) > 0 && b.runner == "" {
		return nil, nil, usageError{fmt.Errorf("arguments after -- (%v) are a Beam runner's flags; give --runner", rest)}
	}
	if own < 0 && len(mine) == 0 {
		return nil, nil, usageError{fmt.Errorf("want at least one argument before --\nsee %s --help", c.CommandPath())}
	}
	if own >= 0 && len(mine) != own {
		return nil, nil, usageError{fmt.Errorf("want %d argument(s) before --, got %d\nsee %s --help", own, len(mine), c.CommandPath())}
	}
	if b.runner != "" && !slices.Contains(scaleout.Runners, b.runner) {
		return nil, nil, usageError{fmt.Errorf("--runner %q: want one of %v", b.runner, scaleout.Runners)}
	}
	return mine, rest, nil
}

// beamProgram finds seqkit-beam: beside this program first, then on PATH.
func beamProgram() (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "seqkit-beam")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	if p, err := exec.LookPath("seqkit-beam"); err == nil {
		return p, nil
	}
	return "", usageError{errors.New("--runner needs the seqkit-beam program, beside seqkit or on PATH: go install github.com/seqkit/seqkit/cmd/seqkit-beam@latest (it carries Apache Beam, which seqkit leaves out)")}
}

// runBeam runs job on the runner through seqkit-beam and returns its
// counters. The first Ctrl-C reaches seqkit-beam, which stops the job.
func (e *env) runBeam(ctx context.Context, b *beamFlags, job scaleout.Job, runnerArgs []string) (scaleout.Counts, error) {
	var counts scaleout.Counts
	prog, err := beamProgram()
	if err != nil {
		return counts, err
	}
	js, err := job.Encode()
	if err != nil {
		return counts, err
	}
	f, err := os.CreateTemp("", "seqkit-job-*.json")
	if err != nil {
		return counts, err
	}
	e.temp(f.Name())
	defer os.Remove(f.Name())
	if _, err := f.Write(js); err != nil {
		f.Close()
		return counts, err
	}
	if err := f.Close(); err != nil {
		return counts, err
	}
	cmd := exec.CommandContext(ctx, prog, append([]string{"--job", f.Name(), "--runner", b.runner}, runnerArgs...)...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 5 * time.Second
	dieWithParent(cmd)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return counts, context.Cause(ctx)
		}
		return counts, fmt.Errorf("the %s job failed (%v); seqkit-beam's messages are above", b.runner, err)
	}
	if err := json.Unmarshal(out.Bytes(), &counts); err != nil {
		return counts, fmt.Errorf("seqkit-beam: unexpected output %q", out.String())
	}
	return counts, nil
}
