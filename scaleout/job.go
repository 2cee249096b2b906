// Package scaleout describes seqkit's data work as Apache Beam jobs: preparing
// a recipe's dataset, batch prediction and inspection, on Beam's embedded
// prism runner or on a cluster (Flink, Spark, Dataflow). It only arranges
// the functions one process uses (pipeline's readers and vocabulary counts,
// prepared.EncodeShard, model.Open) into transforms, one input shard per
// element, so one process and many workers write the same bytes.
//
// Every transform is deterministic and writes its files by atomic rename, so a
// bundle a cluster runner retries writes the same bytes over its first
// attempt, and each job writes its manifest last, from one element, so a job
// that failed or was killed leaves nothing a later run takes as finished.
//
// Files are read and written with the operating system's file calls: on a
// cluster every worker must see the same paths (NFS, or a bucket mounted with
// gcsfuse or similar).
//
// This package holds the jobs and the layout of their outputs and imports no
// Beam; package beamrun, which only the seqkit-beam binary imports, builds
// and runs the pipelines.
package scaleout

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/rundir"
)

// Job is one Beam job as seqkit hands it over: what to do, with every path
// resolved and every setting decided, so that workers parse no recipe and no
// flag. It travels as JSON.
type Job struct {
	Prepare *PrepareJob `json:"prepare,omitempty"`
	Predict *PredictJob `json:"predict,omitempty"`
	Inspect *InspectJob `json:"inspect,omitempty"`
	// FailShard is for tests only: the step of this shard ("train/1" when
	// preparing, "2" when predicting) fails, as a worker that crashes there
	// would, to show what a failed job leaves behind.
	FailShard string `json:"fail_shard,omitempty"`
}

// PrepareJob writes a recipe's data as a prepared dataset (package prepared).
type PrepareJob struct {
	Out        string                     `json:"out"`
	Splits     map[string]pipeline.Source `json:"splits"`
	Tokenizer  pipeline.TokenizerConfig   `json:"tokenizer"`
	Vocab      pipeline.VocabConfig       `json:"vocab"`
	Chars      bool                       `json:"chars,omitempty"`
	Limits     pipeline.Limits            `json:"limits"`
	SkipErrors bool                       `json:"skip_errors,omitempty"`
	// DataYAML is the recipe's data section, written beside the dataset.
	DataYAML string `json:"data_yaml"`
}

// PredictJob predicts a sharded input with a trained run into a folder of
// output shards, one per input shard.
type PredictJob struct {
	Models    []string        `json:"models"` // run directories: several are an ensemble
	Input     pipeline.Source `json:"input"`
	Out       string          `json:"out"`
	Ext       string          `json:"ext"` // of the output shards: .jsonl, .csv, .tsv or .parquet
	BatchSize int             `json:"batch_size"`
	// Sets override the models' decoding options (model.Options.Sets).
	Sets []string `json:"sets,omitempty"`
}

// InspectJob summarises a (sharded) data source.
type InspectJob struct {
	Input     pipeline.Source          `json:"input"`
	Tokenizer pipeline.TokenizerConfig `json:"tokenizer"`
	// Vocab, when set, is a vocabulary file (one token per line) that the OOV
	// rate is measured against.
	Vocab string `json:"vocab,omitempty"`
	// Out receives the summary as JSON.
	Out string `json:"out"`
}

// Encode is the job as JSON.
func (j Job) Encode() ([]byte, error) { return json.Marshal(j) }

// DecodeJob reads a job written by [Job.Encode].
func DecodeJob(b []byte) (Job, error) {
	var j Job
	if err := json.Unmarshal(b, &j); err != nil {
		return j, fmt.Errorf("scaleout: job: %w", err)
	}
	n := 0
	for _, set := range []bool{j.Prepare != nil, j.Predict != nil, j.Inspect != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return j, fmt.Errorf("scaleout: a job is one of prepare, predict or inspect")
	}
	return j, nil
}

// Runners lists the runners a job may run on.
var Runners = []string{"prism", "flink", "spark", "dataflow", "universal"}

// Counts are a job's counters, where the runner reports them.
type Counts struct {
	Rows     int64 `json:"rows"`     // rows predicted or inspected
	Rejected int64 `json:"rejected"` // bad rows written to the rejects output
}

// RejectsDir, in a job's output folder, holds its rejects: one JSON Lines
// file per shard that had any, each line {shard, row, file, reason}.
const RejectsDir = "rejects"

// PredictManifest is written last into a prediction job's folder: the output
// shards and their counts. Without it the folder is not a finished output.
const PredictManifest = "_manifest.json"

// OutputShard names output shard i of a prediction job.
func OutputShard(i int, ext string) string { return fmt.Sprintf("part-%05d%s", i, ext) }

// PredictOutput is the manifest of a prediction job's folder.
type PredictOutput struct {
	Rows     int64            `json:"rows"`
	Rejected int64            `json:"rejected"`
	Shards   []PredictedShard `json:"shards"`
}

// PredictedShard is one output shard of a prediction job.
type PredictedShard struct {
	Shard    int    `json:"shard"`
	File     string `json:"file"`
	Rows     int64  `json:"rows"`
	Rejected int64  `json:"rejected"`
}

// NewPrepareJob readies dir for the recipe's prepared dataset
// (tasks.BeginDataset, as one process does: generated splits are written to
// it first, so the job only reads files) and returns the job that writes it.
func NewPrepareJob(r *recipes.Recipe, dir string) (*PrepareJob, error) {
	r, dir, err := tasks.BeginDataset(r, dir)
	if err != nil {
		return nil, err
	}
	y, err := r.Data.PreparedYAML(dir)
	if err != nil {
		return nil, err
	}
	return &PrepareJob{
		Out: dir, Splits: r.Data.Splits(), Tokenizer: r.Data.Tokenizer.Pipeline(), Vocab: r.Data.Vocab.Pipeline(),
		Chars: r.Model.Char != nil, Limits: r.Data.Limits.Pipeline(), SkipErrors: r.Data.SkipErrors, DataYAML: string(y),
	}, nil
}

// BeginPredict readies folder out for a prediction job's output: the
// manifest of an earlier job there is removed first, so the folder counts as
// finished again only when this job's manifest is written, and a killed
// job's half-written files go.
func BeginPredict(out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(out, PredictManifest)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return rundir.RemoveTemps(out)
}
