package generate_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/generate"
	"github.com/seqkit/seqkit/tasks/rundir"
	"github.com/seqkit/seqkit/tasks/tasktest"
)

func registry(t *testing.T) *tasks.Registry {
	var reg tasks.Registry
	if err := reg.Register(generate.Type()); err != nil {
		t.Fatal(err)
	}
	return &reg
}

func load(t *testing.T, reg *tasks.Registry, dir string) tasks.Generator {
	run, err := tasks.LoadRun(dir, reg, tasktest.DataRoot)
	if err != nil {
		t.Fatal(err)
	}
	return run.Task.(tasks.Generator)
}

// TestNamesLMLearns trains names-lm, small, on an eighth of the names for two
// epochs: the dev NLL must fall well below the 3.30 nats of a uniform guess over
// 27 symbols, and sampling must be reproducible and greedy decoding stable.
func TestNamesLMLearns(t *testing.T) {
	dir := tasktest.NeedData(t, "names")
	tmp := t.TempDir()
	train := tasktest.Slice(t, dir+"/names.train.txt", tmp, "train.txt", 8, 0)
	dev := tasktest.Slice(t, dir+"/names.dev.txt", tmp, "dev.txt", 4, 0)
	reg := registry(t)
	res := tasktest.Run(t, reg, "names-lm", "data.train.path="+train, "data.dev.path="+dev,
		"data.test.path="+dev, "train.epochs=2", "model.hidden=64", "model.layers=1", "model.dropout=0.2", "train.schedule.kind=constant")
	t.Logf("dev %v", res.Dev)
	if nll := res.Dev["nll"]; nll > 2.45 {
		t.Errorf("dev NLL %.3f nats per character after 2 epochs on 3.2k names, want ≤ 2.45", nll)
	}
	if len(res.Generated) != 20 {
		t.Fatalf("the run generated %d names, want the recipe's 20", len(res.Generated))
	}
	gen := load(t, reg, res.Dir)
	o := gen.GenerateDefaults()
	o.Num, o.Seed = 30, 5
	a, err := gen.Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := gen.Generate(o)
	if !slices.Equal(a, b) {
		t.Errorf("the same seed generated %v and %v", a, b)
	}
	distinct := map[string]bool{}
	for _, g := range a {
		distinct[g.Text] = true
		if g.Tokens < 1 || g.Tokens > o.MaxLen || g.LogProb >= 0 {
			t.Errorf("sample %+v: tokens outside [1, %d] or log-probability not negative", g, o.MaxLen)
		}
		if strings.ContainsAny(g.Text, "<> ") {
			t.Errorf("sample %q holds a special symbol or a space", g.Text)
		}
	}
	if len(distinct) < 20 {
		t.Errorf("only %d distinct names in 30 samples", len(distinct))
	}
	o.Temperature = 0
	greedy, _ := gen.Generate(o)
	for _, g := range greedy {
		if g != greedy[0] {
			t.Fatalf("greedy decoding gave %q and %q", greedy[0].Text, g.Text)
		}
	}
	// Beam search of width 1 is greedy decoding; width 5 gives five distinct
	// names, most likely first.
	ob := o
	ob.Beam, ob.Num = 1, 0
	b1, err := gen.Generate(ob)
	if err != nil || len(b1) != 1 || b1[0].Text != greedy[0].Text || math.Abs(b1[0].LogProb-greedy[0].LogProb) > 1e-9 {
		t.Errorf("beam 1 gave %+v (%v), greedy %+v", b1, err, greedy[0])
	}
	ob.Beam = 5
	b5, _ := gen.Generate(ob)
	if len(b5) != 5 {
		t.Fatalf("beam 5 gave %d names", len(b5))
	}
	for k := 1; k < len(b5); k++ {
		if b5[k].LogProb > b5[k-1].LogProb || b5[k].Text == b5[k-1].Text {
			t.Errorf("beam 5 not sorted or repeated: %+v", b5)
		}
	}
	o.Prefix, o.Num = "mar", 5
	pre, _ := gen.Generate(o)
	if !strings.HasPrefix(pre[0].Text, "mar") {
		t.Errorf("with prefix mar generated %q", pre[0].Text)
	}
	o.Condition = "English"
	if _, err := gen.Generate(o); err == nil || !strings.Contains(err.Error(), "not conditioned") {
		t.Errorf("a condition for an unconditional model: error %v", err)
	}
	// A library caller's count is bounded too, before a logit is allocated.
	o.Condition, o.Num = "", 1<<26
	if _, err := gen.Generate(o); err == nil || !strings.Contains(err.Error(), "logits a step, more than 67108864") {
		t.Errorf("%d sequences at once: error %v", o.Num, err)
	}
}

// TestConditionalGeneration trains a generator conditioned on the language on a
// slice of names-by-language: per-language NLL is reported, a requested language
// is honoured, and an unknown one is refused with the list of known ones.
func TestConditionalGeneration(t *testing.T) {
	dir := tasktest.NeedData(t, "names-by-language")
	tmp := t.TempDir()
	train := tasktest.Slice(t, dir+"/names.train.tsv", tmp, "train.tsv", 4, 0)
	dev := tasktest.Slice(t, dir+"/names.dev.tsv", tmp, "dev.tsv", 4, 0)
	reg := registry(t)
	res := tasktest.Run(t, reg, "names-lm", "data.train.path="+train, "data.dev.path="+dev, "data.test.path="+dev,
		"data.train.format=tsv", "data.dev.format=tsv", "data.test.format=tsv",
		"data.train.no_header=true", "data.dev.no_header=true", "data.test.no_header=true",
		`data.train.columns={label: "1", text: "2"}`, `data.dev.columns={label: "1", text: "2"}`, `data.test.columns={label: "1", text: "2"}`,
		"task.condition=init", "train.epochs=2", "model.hidden=64", "model.layers=1", "model.dropout=0.2", "train.schedule.kind=constant")
	t.Logf("dev nll %.3f", res.Dev["nll"])
	if _, ok := res.Dev["nll/Italian"]; !ok {
		t.Errorf("no per-language NLL in %v", res.Dev)
	}
	gen := load(t, reg, res.Dir)
	o := gen.GenerateDefaults()
	o.Num, o.Condition = 4, "Italian"
	out, err := gen.Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range out {
		if g.Condition != "Italian" {
			t.Errorf("asked for Italian, got %+v", g)
		}
	}
	o.Condition = "Klingon"
	if _, err := gen.Generate(o); err == nil || !strings.Contains(err.Error(), "Italian") {
		t.Errorf("unknown condition: error %v, want one listing the known languages", err)
	}
}

// TestEMA trains a small names-lm for one epoch with train.ema: the best
// checkpoint holds the average, not the last weights, and scoring it again (the
// run's test split is the dev split here) gives the dev NLL the loop recorded.
func TestEMA(t *testing.T) {
	dir := tasktest.NeedData(t, "names")
	tmp := t.TempDir()
	train := tasktest.Slice(t, dir+"/names.train.txt", tmp, "train.txt", 16, 0)
	dev := tasktest.Slice(t, dir+"/names.dev.txt", tmp, "dev.txt", 8, 0)
	res := tasktest.Run(t, registry(t), "names-lm", "data.train.path="+train, "data.dev.path="+dev,
		"data.test.path="+dev, "train.epochs=1", "model.hidden=32", "model.layers=1", "train.ema=0.99")
	if d, e := res.Dev["nll"], res.Test["nll"]; math.Abs(d-e) > 1e-5 {
		t.Errorf("dev NLL %.6f while training, %.6f from the best checkpoint", d, e)
	}
	best, _ := os.ReadFile(filepath.Join(res.Dir, rundir.BestDir, rundir.ModelFile))
	last, _ := os.ReadFile(filepath.Join(res.Dir, rundir.LastDir, rundir.ModelFile))
	if len(best) == 0 || bytes.Equal(best, last) {
		t.Errorf("the best checkpoint (%d bytes) holds the last weights, not their average", len(best))
	}
}
