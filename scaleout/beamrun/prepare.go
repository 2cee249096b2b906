package beamrun

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/scaleout"
	"github.com/seqkit/seqkit/tasks/prepared"
	"github.com/seqkit/seqkit/tasks/rundir"
)

func init() {
	register.DoFn3x1[context.Context, string, func([]byte), error](&countFn{})
	register.Combiner1[[]byte](&mergeCountsFn{})
	register.DoFn3x1[context.Context, []byte, func([]byte), error](&vocabFn{})
	register.DoFn4x1[context.Context, string, []byte, func([]byte), error](&encodeFn{})
	register.DoFn3x1[context.Context, int, func(*[]byte) bool, error](&commitFn{})
	register.Emitter1[[]byte]()
	register.Iter1[[]byte]()
}

// buildPrepare adds the prepare job to the pipeline: count the training
// split's shards, merge the counts (a combine) into the vocabularies, encode
// every split's shards with them, and write the manifest once every shard is
// written.
func buildPrepare(s beam.Scope, job scaleout.Job) error {
	j := job.Prepare
	if _, ok := j.Splits["train"]; !ok {
		return fmt.Errorf("scaleout: prepare needs a train split")
	}
	cfg, err := job.Encode()
	if err != nil {
		return err
	}
	s = s.Scope("prepare")
	var all []beam.PCollection
	var train beam.PCollection
	n := map[string]int{}
	for _, name := range []string{"train", "dev", "test"} {
		src, ok := j.Splits[name]
		if !ok {
			continue
		}
		elems, err := refs(name, src)
		if err != nil {
			return fmt.Errorf("%s split: %w", name, err)
		}
		c := beam.Create(s, elems...)
		n[name] = len(elems)
		if name == "train" {
			train = c
		}
		all = append(all, c)
	}
	counts := beam.ParDo(s, &countFn{Job: string(cfg)}, train)
	merged := beam.Combine(s, &mergeCountsFn{}, counts)
	sums := beam.ParDo(s, &vocabFn{Job: string(cfg)}, merged)
	written := beam.ParDo(s, &encodeFn{Job: string(cfg)}, beam.Flatten(s, all...), beam.SideInput{Input: sums})
	beam.ParDo0(s, &commitFn{Job: string(cfg), Shards: n}, beam.GroupByKey(s, beam.AddFixedKey(s, written)))
	return nil
}

// prepareJob decodes the job a DoFn carries.
func prepareJob(cfg string) (scaleout.Job, *scaleout.PrepareJob, error) {
	job, err := scaleout.DecodeJob([]byte(cfg))
	if err != nil {
		return job, nil, err
	}
	if job.Prepare == nil {
		return job, nil, fmt.Errorf("scaleout: not a prepare job")
	}
	return job, job.Prepare, nil
}

func vocabConfig(j *scaleout.PrepareJob) pipeline.VocabConfig {
	cfg := j.Vocab
	cfg.Chars, cfg.Limits = j.Chars, j.Limits
	return cfg
}

// countFn counts the vocabularies of one training shard.
type countFn struct {
	Job string
}

func (f *countFn) ProcessElement(ctx context.Context, elem string, emit func([]byte)) error {
	_, j, err := prepareJob(f.Job)
	if err != nil {
		return err
	}
	ref, err := decodeRef(elem)
	if err != nil {
		return err
	}
	tok, err := pipeline.NewTokenizer(j.Tokenizer)
	if err != nil {
		return err
	}
	opts := []pipeline.Option{pipeline.WithLimits(j.Limits), pipeline.WithContext(ctx)}
	if j.SkipErrors {
		opts = append(opts, pipeline.WithRejects(pipeline.IgnoreRejects)) // the encoding writes them
	}
	r, err := ref.open(j.Splits["train"], opts...)
	if err != nil {
		return err
	}
	defer r.Release()
	c, err := pipeline.CountVocabs(r, tok, vocabConfig(j))
	if err != nil {
		return fmt.Errorf("train split: %w", err)
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	emit(b)
	return nil
}

// mergeCountsFn merges shards' counts: the combine that makes the whole
// split's counts, whatever the order shards are merged in.
type mergeCountsFn struct{}

func (mergeCountsFn) MergeAccumulators(a, b []byte) ([]byte, error) {
	return mergeJSON(a, b, pipeline.NewVocabCounts, (*pipeline.VocabCounts).Merge)
}

// vocabFn builds the vocabularies from the merged counts, writes them to the
// dataset's vocab/ (atomically: a retry writes the same files) and emits their
// hashes, which every encoding step checks the files against.
type vocabFn struct {
	Job string
}

func (f *vocabFn) ProcessElement(ctx context.Context, counts []byte, emit func([]byte)) error {
	_, j, err := prepareJob(f.Job)
	if err != nil {
		return err
	}
	c := pipeline.NewVocabCounts()
	if err := json.Unmarshal(counts, &c); err != nil {
		return err
	}
	v, err := c.Build(vocabConfig(j))
	if err != nil {
		return fmt.Errorf("train split: %w", err)
	}
	if err := rundir.SaveVocabs(filepath.Join(j.Out, prepared.VocabDir), v); err != nil {
		return err
	}
	b, err := json.Marshal(rundir.VocabSums(v))
	if err != nil {
		return err
	}
	emit(b)
	return nil
}

// loadVocabs reads the vocabularies vocabFn wrote and checks them against
// the hashes it emitted.
func loadVocabs(j *scaleout.PrepareJob, sums []byte) (pipeline.Vocabs, error) {
	var want map[string]string
	if err := json.Unmarshal(sums, &want); err != nil {
		return pipeline.Vocabs{}, err
	}
	m := prepared.Manifest{Vocabs: want}
	return m.LoadVocabs(j.Out, j.Limits)
}

// encoded is what encodeFn reports of one shard.
type encoded struct {
	Split   string               `json:"split"`
	Index   int                  `json:"index"`
	Shard   prepared.Shard       `json:"shard"`
	Stats   pipeline.EncodeStats `json:"stats"`
	Skipped int                  `json:"skipped"`
}

// encodeFn encodes one shard of one split into its shard file.
type encodeFn struct {
	Job string

	sums   string // of the vocabularies loaded, read once per instance
	vocabs pipeline.Vocabs
}

func (f *encodeFn) ProcessElement(ctx context.Context, elem string, sums []byte, emit func([]byte)) error {
	job, j, err := prepareJob(f.Job)
	if err != nil {
		return err
	}
	ref, err := decodeRef(elem)
	if err != nil {
		return err
	}
	if ref.key() == job.FailShard {
		return fmt.Errorf("scaleout: shard %s fails (a test's injected fault)", ref.key())
	}
	name, i := ref.Split, ref.Index
	if f.sums != string(sums) {
		if f.vocabs, err = loadVocabs(j, sums); err != nil {
			return err
		}
		f.sums = string(sums)
	}
	v := f.vocabs
	tok, err := pipeline.NewTokenizer(j.Tokenizer)
	if err != nil {
		return err
	}
	enc := &pipeline.Encoder{Tokenizer: tok, Vocabs: v, MaxTokens: j.Limits.MaxTokens}
	opts := []pipeline.Option{pipeline.WithLimits(j.Limits), pipeline.WithContext(ctx)}
	var rej *rejects
	if j.SkipErrors {
		rej = newRejects(filepath.Join(j.Out, scaleout.RejectsDir, fmt.Sprintf("%s-%05d.jsonl", name, i)))
		opts = append(opts, pipeline.WithRejects(rej.add))
	}
	sh, st, skipped, err := prepared.EncodeShard(j.Out, name, j.Splits[name], i, ref.File, enc, 1, opts...)
	if err != nil {
		return fmt.Errorf("%s split: %w", name, err)
	}
	if err := rej.commit(); err != nil {
		return err
	}
	return emitJSON(emit, encoded{name, i, sh, st, skipped})
}

// commitFn writes the manifest once every shard is written: the one step
// that makes the folder a dataset.
type commitFn struct {
	Job    string
	Shards map[string]int // of each split, as listed when the job was built
}

func (f *commitFn) ProcessElement(ctx context.Context, _ int, results func(*[]byte) bool) error {
	_, j, err := prepareJob(f.Job)
	if err != nil {
		return err
	}
	var all []encoded
	var b []byte
	for results(&b) {
		var e encoded
		if err := json.Unmarshal(b, &e); err != nil {
			return err
		}
		all = append(all, e)
	}
	tok, err := pipeline.NewTokenizer(j.Tokenizer)
	if err != nil {
		return err
	}
	v, err := rundir.LoadVocabs(filepath.Join(j.Out, prepared.VocabDir), j.Limits)
	if err != nil {
		return err
	}
	enc := &pipeline.Encoder{Tokenizer: tok, Vocabs: v, MaxTokens: j.Limits.MaxTokens}
	m := &prepared.Manifest{Tokenizer: j.Tokenizer, Vocabs: rundir.VocabSums(v), Splits: map[string]*prepared.Split{}}
	for _, name := range slices.Sorted(maps.Keys(j.Splits)) {
		sp, err := prepared.NewSplit(j.Splits[name], enc, f.Shards[name])
		if err != nil {
			return err
		}
		m.Splits[name] = sp
	}
	seen := map[string]bool{}
	for _, e := range all {
		sp, ok := m.Splits[e.Split]
		key := e.Split + "/" + strconv.Itoa(e.Index)
		if !ok || e.Index < 0 || e.Index >= len(sp.Shards) || seen[key] {
			return fmt.Errorf("scaleout: unexpected shard result %s", key)
		}
		seen[key] = true
		sp.Set(e.Index, e.Shard, e.Stats, e.Skipped)
	}
	for name, sp := range m.Splits {
		for i, sh := range sp.Shards {
			if sh.File == "" {
				return fmt.Errorf("scaleout: %s shard %d was not written", name, i)
			}
		}
		if sp.Rows == 0 {
			return fmt.Errorf("%s split: no examples: its files are empty or every example was rejected", name)
		}
	}
	if err := pipeline.WriteFileAtomic(filepath.Join(j.Out, prepared.DataFile), []byte(j.DataYAML)); err != nil {
		return err
	}
	return prepared.Commit(j.Out, m)
}

// rejects collects the bad examples of one shard as JSON Lines (shard, row or
// line, file, reason), written atomically when the shard's step succeeds.
type rejects struct {
	path string
	buf  []byte
	n    int
}

func newRejects(path string) *rejects { return &rejects{path: path} }

// maxRejectBytes bounds the rejects one shard keeps in memory.
const maxRejectBytes = 64 << 20

func (r *rejects) add(shard int, bad *pipeline.Error) error {
	row := bad.Line
	if row == 0 {
		row = bad.Row
	}
	b, err := json.Marshal(struct {
		Shard  int    `json:"shard"`
		Row    int    `json:"row"`
		File   string `json:"file"`
		Reason string `json:"reason"`
	}{shard, row, bad.Path, bad.Err.Error()})
	if err != nil {
		return err
	}
	if len(r.buf)+len(b) > maxRejectBytes {
		return fmt.Errorf("scaleout: more than %d bytes of rejects in %s: is the format or the column mapping wrong?", maxRejectBytes, bad.Path)
	}
	r.buf = append(append(r.buf, b...), '\n')
	r.n++
	return nil
}

// commit writes the shard's rejects (removing those of an earlier attempt
// when there are none now); nothing for a nil r.
func (r *rejects) commit() error {
	if r == nil {
		return nil
	}
	if r.n == 0 {
		if err := os.Remove(r.path); err != nil && !os.IsNotExist(err) {
			return err
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(r.path), 0o755); err != nil {
		return err
	}
	return pipeline.WriteFileAtomic(r.path, r.buf)
}
