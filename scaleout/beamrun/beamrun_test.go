//go:build !purego

// The Beam jobs run no kernel of their own: CI's purego pass leaves them out.

package beamrun_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/seqkit/seqkit/tasks/tasktest"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/klauspost/compress/gzip"

	"github.com/seqkit/seqkit/model"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/pipeline/synth"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/scaleout"
	"github.com/seqkit/seqkit/scaleout/beamrun"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/prepared"
	"github.com/seqkit/seqkit/tasks/rundir"
)

func TestMain(m *testing.M) {
	flag.Parse()
	beamlog.LogLevel = "error" // prism's progress
	beam.Init()
	os.Exit(m.Run())
}

// shardCoNLL writes n generated Taipei sentences (a CoNLL file's sentences
// split at blank lines) over k shards, every other one gzip-compressed, and
// returns the folder.
func shardCoNLL(t *testing.T, n, k int, seed uint64) string {
	t.Helper()
	dir := t.TempDir()
	sents := strings.SplitAfter(string(synth.TaipeiCoNLL(n, seed, 0)), "\n\n")
	for s := range k {
		var b bytes.Buffer
		for i := s; i < len(sents); i += k {
			b.WriteString(sents[i])
		}
		name := filepath.Join(dir, fmt.Sprintf("part-%02d.conll", s))
		data := b.Bytes()
		if s%2 == 1 {
			var z bytes.Buffer
			w := gzip.NewWriter(&z)
			w.Write(data)
			w.Close()
			name, data = name+".gz", z.Bytes()
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// shardedRecipe is the taipei recipe reading sharded CoNLL files: a train
// glob, a dev folder and a test list.
func shardedRecipe(t *testing.T) *recipes.Recipe {
	t.Helper()
	r, err := recipes.Load("taipei", recipes.Options{Tasks: model.Builtin(), Sets: []string{"train.epochs=1"}})
	if err != nil {
		t.Fatal(err)
	}
	train, dev, test := shardCoNLL(t, 300, 4, 1), shardCoNLL(t, 60, 3, 2), shardCoNLL(t, 40, 2, 3)
	r.Data.Generate = nil
	r.Data.Train = recipes.Source{Path: filepath.Join(train, "part-*"), Format: pipeline.CoNLL}
	r.Data.Dev = recipes.Source{Path: dev, Format: pipeline.CoNLL}
	r.Data.Test = recipes.Source{Paths: []string{filepath.Join(test, "part-00.conll"), filepath.Join(test, "part-01.conll.gz")}, Format: pipeline.CoNLL}
	return r
}

func runPrepare(t *testing.T, r *recipes.Recipe, dir, fail string) error {
	t.Helper()
	j, err := scaleout.NewPrepareJob(r, dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = beamrun.Run(context.Background(), "prism", scaleout.Job{Prepare: j, FailShard: fail})
	return err
}

// TestPrepare checks that the Beam job on prism writes the prepared dataset
// one process writes, byte for byte: vocabularies (a combine of per-shard
// counts), every shard file, data.yaml and the manifest. A job that fails at
// one shard leaves no manifest, and running it again completes with the same
// bytes.
func TestPrepare(t *testing.T) {
	r := shardedRecipe(t)
	root := t.TempDir()
	one, beamDir := filepath.Join(root, "one"), filepath.Join(root, "beam")
	if _, err := tasks.PrepareDataset(r, one, tasks.PrepareOptions{}); err != nil {
		t.Fatal(err)
	}
	want := tasktest.TreeSums(t, one)
	if len(want) != 4+4+3+2 { // manifest, data.yaml, vocab ×2; shards 4 + 3 + 2
		t.Errorf("one process wrote %d files: %v", len(want), want)
	}
	if err := runPrepare(t, r, beamDir, "train/2"); err == nil || !strings.Contains(err.Error(), "injected fault") {
		t.Fatalf("job with a failing shard: %v", err)
	}
	if _, err := prepared.Open(beamDir); err == nil {
		t.Fatal("a failed job left a manifest")
	}
	if err := runPrepare(t, r, beamDir, ""); err != nil {
		t.Fatal(err)
	}
	got := tasktest.TreeSums(t, beamDir)
	if !reflect.DeepEqual(got, want) {
		for f := range want {
			if got[f] != want[f] {
				t.Errorf("%s differs between one process and the Beam job", f)
			}
		}
		for f := range got {
			if want[f] == "" {
				t.Errorf("the Beam job wrote %s, one process did not", f)
			}
		}
	}
}

// trained is a taipei run trained once for the prediction tests.
func trained(t *testing.T) string {
	t.Helper()
	r, err := recipes.Load("taipei", recipes.Options{Tasks: model.Builtin(), Sets: []string{"train.epochs=1"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	if _, err := tasks.Run(context.Background(), r, tasks.RunOptions{Dir: dir, Registry: model.Builtin(), NoTest: true, Prepare: tasks.PrepareOptions{CacheDir: t.TempDir()}}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPredict checks that the Beam prediction job's output shards, in shard
// order, are single-process prediction's rows, and that a bad row goes to
// the rejects output, counted, without failing the job; a failed job leaves
// no manifest and runs again to the same output.
func TestPredict(t *testing.T) {
	run := trained(t)
	in := t.TempDir()
	for s := range 3 {
		var b strings.Builder
		for i := range 5 {
			fmt.Fprintf(&b, "{\"text\": \"arrive Taipei on November %dnd\", \"id\": %d}\n", s+i+1, 10*s+i)
		}
		os.WriteFile(filepath.Join(in, fmt.Sprintf("in-%d.jsonl", s)), []byte(b.String()), 0o644)
	}
	src := pipeline.Source{Path: filepath.Join(in, "in-*.jsonl"), Columns: pipeline.Columns{Text: "text"}}
	m, err := model.Open(run, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var single bytes.Buffer
	rd, err := pipeline.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	preds, err := m.Predict(context.Background(), rd)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := rundir.NewRowWriter("x.jsonl", &single)
	for preds.Next() {
		w.Write(preds.RecordBatch())
	}
	w.Close()
	preds.Release()
	rd.Release()
	if preds.Err() != nil {
		t.Fatal(preds.Err())
	}

	out := filepath.Join(t.TempDir(), "out")
	job := scaleout.Job{Predict: &scaleout.PredictJob{Models: []string{run}, Input: src, Out: out, Ext: ".jsonl", BatchSize: 4}}
	if err := scaleout.BeginPredict(out); err != nil {
		t.Fatal(err)
	}
	job.FailShard = "1"
	if _, err := beamrun.Run(context.Background(), "prism", job); err == nil {
		t.Fatal("a job with a failing shard succeeded")
	}
	if _, err := os.Stat(filepath.Join(out, scaleout.PredictManifest)); err == nil {
		t.Fatal("a failed job left its manifest")
	}
	job.FailShard = ""
	counts, err := beamrun.Run(context.Background(), "prism", job)
	if err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	for s := range 3 {
		b, err := os.ReadFile(filepath.Join(out, scaleout.OutputShard(s, ".jsonl")))
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	if all.String() != single.String() || !strings.Contains(single.String(), `"shard":2`) {
		t.Errorf("Beam predictions differ from one process's:\n%s\nwant\n%s", all.String(), single.String())
	}
	if counts.Rows != 15 || counts.Rejected != 0 {
		t.Errorf("counts %+v", counts)
	}

	// A bad row is rejected and counted; the job goes on.
	os.WriteFile(filepath.Join(in, "in-1.jsonl"), []byte("{\"text\": \"leave Taipei\"}\nnot json\n{\"text\": \"arrive Taipei\"}\n"), 0o644)
	bad := filepath.Join(t.TempDir(), "bad")
	job.Predict.Out = bad
	scaleout.BeginPredict(bad)
	counts, err = beamrun.Run(context.Background(), "prism", job)
	if err != nil {
		t.Fatal(err)
	}
	var man scaleout.PredictOutput
	b, _ := os.ReadFile(filepath.Join(bad, scaleout.PredictManifest))
	if err := json.Unmarshal(b, &man); err != nil || man.Rows != 12 || man.Rejected != 1 || len(man.Shards) != 3 {
		t.Errorf("manifest %s (%v)", b, err)
	}
	rej, _ := os.ReadFile(filepath.Join(bad, scaleout.RejectsDir, scaleout.OutputShard(1, ".jsonl")))
	if !strings.Contains(string(rej), `"shard":1,"row":2`) || !strings.Contains(string(rej), "invalid JSON") {
		t.Errorf("rejects %q", rej)
	}
	if counts.Rejected != 1 {
		t.Errorf("counts %+v", counts)
	}
}

// TestInspect checks that the Beam inspection's merged profile is the one a
// single pass over the whole sharded source gives.
func TestInspect(t *testing.T) {
	dir := shardCoNLL(t, 200, 5, 9)
	vocab := filepath.Join(t.TempDir(), "vocab.txt")
	os.WriteFile(vocab, []byte("<pad>\n<unk>\n<bos>\n<eos>\non\ntaipei\n"), 0o644)
	j := &scaleout.InspectJob{Input: pipeline.Source{Path: dir, Format: pipeline.CoNLL}, Tokenizer: pipeline.TokenizerConfig{Lower: true}, Vocab: vocab, Out: filepath.Join(t.TempDir(), "profile.json")}
	tok, _ := pipeline.NewTokenizer(j.Tokenizer)
	voc, _ := pipeline.LoadVocab(vocab, 0)
	rd, err := pipeline.Open(j.Input)
	if err != nil {
		t.Fatal(err)
	}
	want, err := pipeline.ProfileRecords(rd, tok, voc, pipeline.Limits{})
	rd.Release()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := beamrun.Run(context.Background(), "prism", scaleout.Job{Inspect: j}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(j.Out)
	if err != nil {
		t.Fatal(err)
	}
	got := pipeline.NewProfile()
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || want.Rows != 200 || want.Unknown == 0 {
		t.Errorf("Beam profile\n%+v\nwant\n%+v", got.Summary(), want.Summary())
	}
}
