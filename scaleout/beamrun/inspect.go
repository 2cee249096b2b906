package beamrun

import (
	"context"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/scaleout"
)

func init() {
	register.DoFn3x1[context.Context, string, func([]byte), error](&profileFn{})
	register.Combiner1[[]byte](&mergeProfilesFn{})
	register.DoFn2x1[context.Context, []byte, error](&writeProfileFn{})
}

// buildInspect adds the inspection job: each shard profiled, the profiles
// merged (a combine), the result written as JSON.
func buildInspect(s beam.Scope, job scaleout.Job) error {
	cfg, err := job.Encode()
	if err != nil {
		return err
	}
	s = s.Scope("inspect")
	elems, err := refs("", job.Inspect.Input)
	if err != nil {
		return err
	}
	profiles := beam.ParDo(s, &profileFn{Job: string(cfg)}, beam.Create(s, elems...))
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

func (f *profileFn) ProcessElement(ctx context.Context, elem string, emit func([]byte)) error {
	j, err := inspectJob(f.Job)
	if err != nil {
		return err
	}
	ref, err := decodeRef(elem)
	if err != nil {
		return err
	}
	p, err := profileShard(ctx, j, ref)
	if err != nil {
		return err
	}
	f.rows.Inc(ctx, p.Rows)
	return emitJSON(emit, p)
}

// profileShard profiles shard i of the job's input.
func profileShard(ctx context.Context, j *scaleout.InspectJob, ref shardRef) (pipeline.Profile, error) {
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
	r, err := ref.open(j.Input, pipeline.WithContext(ctx))
	if err != nil {
		return pipeline.Profile{}, err
	}
	defer r.Release()
	return pipeline.ProfileRecords(r, tok, vocab, pipeline.Limits{})
}

// mergeProfilesFn merges the shards' profiles.
type mergeProfilesFn struct{}

func (mergeProfilesFn) MergeAccumulators(a, b []byte) ([]byte, error) {
	return mergeJSON(a, b, pipeline.NewProfile, (*pipeline.Profile).Merge)
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
