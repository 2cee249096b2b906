package beamrun

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/scaleout"
)

func init() {
	register.DoFn3x1[context.Context, int, func([]byte), error](&profileFn{})
	register.Combiner1[[]byte](&mergeProfilesFn{})
	register.DoFn2x1[context.Context, []byte, error](&writeProfileFn{})
}

// buildInspect adds the inspection job: each shard profiled, the profiles
// merged (a combine), the result written as JSON.
func buildInspect(s beam.Scope, job scaleout.Job) error {
	n, err := shards(job.Inspect.Input)
	if err != nil {
		return err
	}
	cfg, err := job.Encode()
	if err != nil {
		return err
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	s = s.Scope("inspect")
	profiles := beam.ParDo(s, &profileFn{Job: string(cfg)}, beam.Create(s, toAny(idx)...))
	beam.ParDo0(s, &writeProfileFn{Job: string(cfg)}, beam.Combine(s, &mergeProfilesFn{}, profiles))
	return nil
}

func inspectJob(cfg string) (*scaleout.InspectJob, error) {
	job, err := scaleout.DecodeJob([]byte(cfg))
	if err != nil {
		return nil, err
	}
	if job.Inspect == nil {
		return nil, fmt.Errorf("scaleout: not an inspect job")
	}
	return job.Inspect, nil
}

// profileFn profiles one shard.
type profileFn struct {
	Job string

	rows beam.Counter
}

func (f *profileFn) Setup() { f.rows = beam.NewCounter(counterSpace, rowsCounter) }

func (f *profileFn) ProcessElement(ctx context.Context, shard int, emit func([]byte)) error {
	j, err := inspectJob(f.Job)
	if err != nil {
		return err
	}
	p, err := profileShard(ctx, j, shard)
	if err != nil {
		return err
	}
	f.rows.Inc(ctx, p.Rows)
	return emitJSON(emit, p)
}

// profileShard profiles shard i of the job's input.
func profileShard(ctx context.Context, j *scaleout.InspectJob, i int) (pipeline.Profile, error) {
	tok, err := pipeline.NewTokenizer(j.Tokenizer)
	if err != nil {
		return pipeline.Profile{}, err
	}
	var vocab *pipeline.Vocab
	if j.Vocab != "" {
		if vocab, err = pipeline.LoadVocab(j.Vocab, 0); err != nil {
			return pipeline.Profile{}, err
		}
	}
	opts := []pipeline.Option{pipeline.WithContext(ctx)}
	if j.Input.Sharded() {
		opts = append(opts, pipeline.WithShard(i))
	}
	r, err := pipeline.Open(j.Input, opts...)
	if err != nil {
		return pipeline.Profile{}, err
	}
	defer r.Release()
	return pipeline.ProfileRecords(r, tok, vocab, pipeline.Limits{})
}

// mergeProfilesFn merges the shards' profiles.
type mergeProfilesFn struct{}

func (mergeProfilesFn) MergeAccumulators(a, b []byte) ([]byte, error) {
	pa, pb := pipeline.NewProfile(), pipeline.NewProfile()
	if err := json.Unmarshal(a, &pa); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &pb); err != nil {
		return nil, err
	}
	pa.Merge(pb)
	return json.Marshal(pa)
}

// writeProfileFn writes the merged profile to the job's output.
type writeProfileFn struct {
	Job string
}

func (f *writeProfileFn) ProcessElement(ctx context.Context, profile []byte) error {
	j, err := inspectJob(f.Job)
	if err != nil {
		return err
	}
	return pipeline.WriteFileAtomic(j.Out, profile)
}
