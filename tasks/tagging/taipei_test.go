package tagging_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/rundir"
	"github.com/seqkit/seqkit/tasks/tagging"
)

func registry(t *testing.T) *tasks.Registry {
	var reg tasks.Registry
	if err := reg.Register(tagging.Type()); err != nil {
		t.Fatal(err)
	}
	return &reg
}

// TestTaipei trains the built-in demo in-process with each head and scheme and
// checks that it tells the destination from the origin.
func TestTaipei(t *testing.T) {
	for _, sets := range [][]string{
		{"task.head=softmax"},
		{"task.head=crf", "task.nbest=3"},
		{"task.head=crf", "task.train_scheme=bioes"},
	} {
		t.Run(strings.Join(sets, ","), func(t *testing.T) {
			reg := registry(t)
			r, err := recipes.Load("taipei", recipes.Options{Tasks: reg, Sets: sets})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir() + "/run"
			res, err := tasks.Run(context.Background(), r, tasks.RunOptions{Dir: dir, Registry: reg, Prepare: tasks.PrepareOptions{CacheDir: t.TempDir()}})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("dev %v test %v steps %d in %v", res.Dev["f1"], res.Test["f1"], res.Train.Steps, res.Train.Elapsed)
			want := []string{"O B-toloc.city_name O B-arrive_date.month_name B-arrive_date.day_number",
				"O B-fromloc.city_name O B-depart_date.month_name B-depart_date.day_number"}
			for i, ex := range res.Examples {
				if got := strings.Join(ex["tags"].([]string), " "); got != want[i] {
					t.Errorf("%q: tags %q, want %q", ex["text"], ex["tags"], want[i])
				}
				if sets[len(sets)-1] == "task.nbest=3" {
					nb, scores := ex["nbest"].([]string), ex["nbest_scores"].([]any)
					if len(nb) != 3 || nb[0] != want[i] || len(scores) != 3 || scores[0].(float64) < scores[1].(float64) {
						t.Errorf("n-best: %v %v", nb, scores)
					}
				}
			}
			if f := res.Test["f1"]; f < 95 {
				t.Errorf("test F1 %.2f, want at least 95 on the generated grammar", f)
			}
		})
	}
}

// TestSameBitsTwice trains the same recipe and seed twice in one process (with
// dropout, and the CRF): the weights, metrics and test predictions are the same
// bits. cmd/seqkit's TestDeterminism checks the same across processes.
func TestSameBitsTwice(t *testing.T) {
	reg := registry(t)
	r, err := recipes.Load("taipei", recipes.Options{Tasks: reg, Sets: []string{"task.head=crf", "model.dropout=0.3", "train.epochs=2"}})
	if err != nil {
		t.Fatal(err)
	}
	var runs [2]map[string]string
	for i := range runs {
		dir := t.TempDir() + "/run"
		if _, err := tasks.Run(context.Background(), r, tasks.RunOptions{Dir: dir, Registry: reg, Prepare: tasks.PrepareOptions{CacheDir: t.TempDir()}}); err != nil {
			t.Fatal(err)
		}
		if r.Data.Train.Path != "" {
			t.Fatalf("Run pointed the caller's recipe at its generated files (%s)", r.Data.Train.Path)
		}
		runs[i] = map[string]string{}
		for _, f := range []string{"checkpoints/best/model.safetensors", "checkpoints/last/optimizer.safetensors", rundir.PredictionsFile} {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			runs[i][f] = string(b)
		}
		b, _ := os.ReadFile(filepath.Join(dir, rundir.MetricsFile))
		runs[i]["metrics"] = regexp.MustCompile(`"tokens_per_s":[0-9.e+]+`).ReplaceAllString(string(b), "")
	}
	for f := range runs[0] {
		if runs[0][f] != runs[1][f] {
			t.Errorf("%s differs between two runs in one process", f)
		}
	}
}
