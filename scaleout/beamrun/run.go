// Package beamrun builds and runs the Apache Beam pipelines of package
// scaleout's jobs. Only the seqkit-beam binary imports it, so that seqkit
// itself carries no Beam.
package beamrun

import (
	"context"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/seqkit/seqkit/scaleout"
	// Registers the runners --runner names; each reads its own flags
	// (--endpoint, --environment_type, --project, --region, ...).
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/flink"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/spark"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal"

	// The reflection-free calls of registered DoFns.
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/exec/optimized"
)

// Run builds the job's pipeline and runs it on runner, waiting for the end.
func Run(ctx context.Context, runner string, job scaleout.Job) (scaleout.Counts, error) {
	p, s := beam.NewPipelineWithRoot()
	var err error
	switch {
	case job.Prepare != nil:
		err = buildPrepare(s, job)
	case job.Predict != nil:
		err = buildPredict(s, job)
	case job.Inspect != nil:
		err = buildInspect(s, job)
	default:
		err = fmt.Errorf("scaleout: an empty job")
	}
	if err != nil {
		return scaleout.Counts{}, err
	}
	res, err := beam.Run(ctx, runner, p)
	if err != nil {
		return scaleout.Counts{}, err
	}
	var c scaleout.Counts
	if res != nil {
		for _, r := range res.Metrics().AllMetrics().Counters() {
			switch r.Key.Name {
			case rowsCounter:
				c.Rows += r.Result()
			case rejectedCounter:
				c.Rejected += r.Result()
			}
		}
	}
	return c, nil
}

// The counters of a job.
const (
	counterSpace    = "seqkit"
	rowsCounter     = "rows"
	rejectedCounter = "rejected"
)
