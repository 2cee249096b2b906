// Command seqkit-beam runs seqkit's data jobs on Apache Beam: the prism
// runner in this process, or Flink, Spark, Dataflow and any portable runner
// on a cluster. seqkit starts it for data prepare, predict and data inspect
// given --runner; a cluster runner starts it again on every worker, which is
// why it is a program of its own (a Go Beam worker is the job's own binary)
// and why seqkit itself carries no Beam.
//
// Usage (seqkit writes the job file):
//
//	seqkit-beam --job JOB.json --runner prism
//	seqkit-beam --job JOB.json --runner flink --endpoint localhost:8099 --environment_type LOOPBACK
//	seqkit-beam --job JOB.json --runner dataflow --project P --region R --staging_location gs://B/staging
//
// It prints the job's counters as one JSON line on stdout.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners"

	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/scaleout"
	"github.com/seqkit/seqkit/scaleout/beamrun"
)

func main() {
	jobFile := flag.String("job", "", "the job file seqkit wrote")
	verbose := flag.Bool("v", false, "log the runner's progress")
	flag.Parse()
	if !*verbose {
		beamlog.LogLevel = "warn" // prism's progress, job by job
	}
	beam.Init() // a worker a runner started never returns from here
	if *jobFile == "" {
		fmt.Fprintln(os.Stderr, "seqkit-beam runs the Beam jobs of seqkit data prepare, predict and data inspect given --runner; run those (see seqkit data prepare --help)")
		os.Exit(2)
	}
	runner := *runners.Runner
	if runner == "" {
		runner = "prism"
	}
	if !slices.Contains(scaleout.Runners, runner) {
		fmt.Fprintf(os.Stderr, "seqkit-beam: unknown --runner %q (want one of %v)\n", runner, scaleout.Runners)
		os.Exit(2)
	}
	b, err := pipeline.ReadFileLimited(*jobFile, 1<<26)
	if err != nil {
		fmt.Fprintln(os.Stderr, "seqkit-beam:", err)
		os.Exit(1)
	}
	job, err := scaleout.DecodeJob(b)
	if err != nil {
		fmt.Fprintln(os.Stderr, "seqkit-beam:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	counts, err := beamrun.Run(ctx, runner, job)
	if err != nil {
		fmt.Fprintln(os.Stderr, "seqkit-beam:", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(counts)
}
