package beamrun

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/seqkit/seqkit/internal/atomicfile"
	"github.com/seqkit/seqkit/model"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/scaleout"
	"github.com/seqkit/seqkit/tasks/rundir"
)

func init() {
	register.DoFn3x1[context.Context, string, func([]byte), error](&predictFn{})
	register.DoFn3x1[context.Context, int, func(*[]byte) bool, error](&predictedFn{})
}

// buildPredict adds the prediction job: one element per input shard, each
// predicted into its own output shard by a worker holding the model, then
// the manifest.
func buildPredict(s beam.Scope, job scaleout.Job) error {
	cfg, err := job.Encode()
	if err != nil {
		return err
	}
	s = s.Scope("predict")
	elems, err := refs("", job.Predict.Input)
	if err != nil {
		return err
	}
	done := beam.ParDo(s, &predictFn{Job: string(cfg)}, beam.Create(s, elems...))
	beam.ParDo0(s, &predictedFn{Job: string(cfg), Shards: len(elems)}, beam.GroupByKey(s, beam.AddFixedKey(s, done)))
	return nil
}

// predictFn predicts input shards. Each instance opens the model once, in
// Setup, and predicts shard after shard with it.
type predictFn struct {
	Job string

	job      scaleout.Job
	model    *model.Model
	rows     beam.Counter
	rejected beam.Counter
}

func (f *predictFn) Setup() error {
	job, err := scaleout.DecodeJob([]byte(f.Job))
	if err != nil {
		return err
	}
	if job.Predict == nil {
		return fmt.Errorf("scaleout: not a predict job")
	}
	f.job = job
	f.model, err = model.OpenEnsemble(job.Predict.Models, model.Options{BatchSize: job.Predict.BatchSize, Sets: job.Predict.Sets})
	f.rows = beam.NewCounter(counterSpace, rowsCounter)
	f.rejected = beam.NewCounter(counterSpace, rejectedCounter)
	return err
}

func (f *predictFn) ProcessElement(ctx context.Context, elem string, emit func([]byte)) error {
	j := f.job.Predict
	ref, err := decodeRef(elem)
	if err != nil {
		return err
	}
	if ref.key() == f.job.FailShard {
		return fmt.Errorf("scaleout: shard %s fails (a test's injected fault)", ref.key())
	}
	shard := ref.Index
	rej := newRejects(filepath.Join(j.Out, scaleout.RejectsDir, scaleout.OutputShard(shard, ".jsonl")))
	rd, err := ref.open(j.Input, pipeline.WithLimits(f.model.Recipe().Data.Limits.Pipeline()), pipeline.WithContext(ctx), pipeline.WithRejects(rej.add))
	if err != nil {
		return err
	}
	defer rd.Release()
	name := scaleout.OutputShard(shard, j.Ext)
	out, err := atomicfile.Create(filepath.Join(j.Out, name))
	if err != nil {
		return err
	}
	defer out.Abort()
	w, err := rundir.NewRowWriter(name, out)
	if err != nil {
		return err
	}
	preds, err := f.model.Predict(ctx, rd)
	if err != nil {
		return err
	}
	defer preds.Release()
	rows, err := rundir.WriteAll(w, preds)
	if err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := out.Commit(); err != nil {
		return err
	}
	if err := rej.commit(); err != nil {
		return err
	}
	f.rows.Inc(ctx, rows)
	f.rejected.Inc(ctx, int64(rej.n))
	return emitJSON(emit, scaleout.PredictedShard{Shard: shard, File: name, Rows: rows, Rejected: int64(rej.n)})
}

// predictedFn writes the manifest of a prediction job once every shard is
// predicted.
type predictedFn struct {
	Job    string
	Shards int // as listed when the job was built
}

func (f *predictedFn) ProcessElement(ctx context.Context, _ int, results func(*[]byte) bool) error {
	job, err := scaleout.DecodeJob([]byte(f.Job))
	if err != nil {
		return err
	}
	n := f.Shards
	m := scaleout.PredictOutput{Shards: make([]scaleout.PredictedShard, n)}
	var b []byte
	for results(&b) {
		var p scaleout.PredictedShard
		if err := json.Unmarshal(b, &p); err != nil {
			return err
		}
		if p.Shard < 0 || p.Shard >= n || m.Shards[p.Shard].File != "" {
			return fmt.Errorf("scaleout: unexpected result for shard %d", p.Shard)
		}
		m.Shards[p.Shard] = p
		m.Rows += p.Rows
		m.Rejected += p.Rejected
	}
	for i, p := range m.Shards {
		if p.File == "" {
			return fmt.Errorf("scaleout: shard %d was not predicted", i)
		}
	}
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return pipeline.WriteFileAtomic(filepath.Join(job.Predict.Out, scaleout.PredictManifest), append(out, '\n'))
}
