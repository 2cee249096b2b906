package model_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seqkit/seqkit/model"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
)

// ensembleCase is a small trained run of one task for the ensemble tests.
type ensembleCase struct {
	name   string
	recipe string   // a built-in recipe name, or YAML written to a file
	sets   []string // overrides
	input  string   // lines to predict
}

// writeData writes the small datasets the inline recipes read: words
// labelled by whether they hold an "x" (classify), and short names
// (generate), 600 to train on (and carve dev from) and 200 to test.
func writeData(t *testing.T, dir string) {
	rng := rand.New(rand.NewPCG(1, 2))
	var cls, names strings.Builder
	cls.WriteString("text,label\n")
	for i := range 800 {
		if i == 600 {
			for _, f := range []struct{ name, body string }{{"cls.csv", cls.String()}, {"names.txt", names.String()}} {
				if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cls.Reset()
			names.Reset()
			cls.WriteString("text,label\n")
		}
		n := 3 + rng.IntN(5)
		w := make([]byte, n)
		for i := range w {
			w[i] = "abcdexyz"[rng.IntN(8)]
		}
		label := "no"
		if strings.ContainsRune(string(w), 'x') {
			label = "yes"
		}
		fmt.Fprintf(&cls, "%s,%s\n", w, label)
		fmt.Fprintf(&names, "%s\n", strings.ToUpper(string(w[:1]))+string(w[1:]))
	}
	for _, f := range []struct{ name, body string }{{"cls.test.csv", cls.String()}, {"names.test.txt", names.String()}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const classifyYAML = `name: has-x
data:
  train: {path: DIR/cls.csv, columns: {text: text, label: label}}
  test: {path: DIR/cls.test.csv, columns: {text: text, label: label}}
  split: {dev: 0.2, seed: 1}
  tokenizer: {kind: char}
  batch: {size: 32}
model: {embedding: 16, cell: lstm, hidden: 24, bidirectional: true}
task: {type: classify, pooling: max}
train: {epochs: 3, lr: 0.01}
`

const generateYAML = `name: tiny-lm
data:
  train: {path: DIR/names.txt, format: text}
  test: {path: DIR/names.test.txt, format: text}
  split: {dev: 0.2, seed: 1}
  tokenizer: {kind: char}
  batch: {size: 32}
model: {embedding: 16, cell: gru, hidden: 32, bidirectional: false}
task: {type: generate, max_len: 12}
train: {epochs: 2, lr: 0.01}
`

// trainCase trains c with train.seed seed into a new run directory.
func trainCase(t *testing.T, tmp string, c ensembleCase, seed int) string {
	t.Helper()
	reg := model.Builtin()
	name := c.recipe
	if strings.Contains(name, "\n") {
		name = filepath.Join(tmp, c.name+".yaml")
		if err := os.WriteFile(name, []byte(strings.ReplaceAll(c.recipe, "DIR", tmp)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := recipes.Load(name, recipes.Options{Tasks: reg, Sets: append(c.sets, fmt.Sprintf("train.seed=%d", seed))})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, fmt.Sprintf("%s-%d", c.name, seed))
	if _, err := tasks.Run(context.Background(), r, tasks.RunOptions{Dir: dir, Registry: reg, NoTest: true,
		Prepare: tasks.PrepareOptions{CacheDir: filepath.Join(tmp, "cache")}}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// evalTest evaluates m on the test split of its recipe.
func evalTest(t *testing.T, m *model.Model, task tasks.Task, dir, cache string) tasks.Metrics {
	t.Helper()
	data, err := tasks.Prepare(m.Recipe(), dir, tasks.PrepareOptions{CacheDir: cache, Splits: []string{"test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer data.Close()
	got, err := task.Evaluate(tasks.EvalBatches(data.Test, m.Recipe()))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestEnsemble: for every built-in task, an ensemble of one model evaluates
// and predicts exactly as the model; an ensemble of two copies of it gives the
// same predictions and metrics (the loss to rounding, its probabilities
// averaged with themselves); an ensemble of two different seeds is neither
// member.
func TestEnsemble(t *testing.T) {
	tmp := t.TempDir()
	writeData(t, tmp)
	cases := []ensembleCase{
		{name: "crf", recipe: "taipei", sets: []string{"train.epochs=2"}, input: "arrive taipei on november 2nd\nleave boston at 5 pm\nfly from denver to tokyo\n"},
		{name: "softmax", recipe: "taipei", sets: []string{"train.epochs=2", "task.head=softmax"}, input: "arrive taipei on november 2nd\nleave boston at 5 pm\n"},
		{name: "classify", recipe: classifyYAML, input: "abxd\nabcd\nzzzy\nxx\n"},
		{name: "seq2seq", recipe: "reverse", sets: []string{"data.generate.train=1500", "train.epochs=2", "task.beam=3"}, input: "1 2 3 4\n5 6 7\n9 8 7 6 5\n"},
		{name: "generate", recipe: generateYAML, input: "Abc\nXyz\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := trainCase(t, tmp, c, 1), trainCase(t, tmp, c, 2)
			in := filepath.Join(tmp, c.name+".in")
			os.WriteFile(in, []byte(c.input), 0o644)
			cache := filepath.Join(tmp, "cache")
			one, err := model.Open(a, model.Options{})
			if err != nil {
				t.Fatal(err)
			}
			wantM := evalTest(t, one, one.Task(), a, cache)
			wantP := predictAll(t, one, in)

			// An ensemble of one member goes through the ensemble's code:
			// its combination of one is the member's scores.
			solo, err := one.Task().(tasks.Ensembler).Ensemble(nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := evalTest(t, one, solo, a, cache); !sameMetrics(got, wantM, 0) {
				t.Errorf("ensemble of one: %v, the model: %v", got, wantM)
			}

			twice, err := model.OpenEnsemble([]string{a, a}, model.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(twice.Members()); n != 2 {
				t.Fatalf("%d members", n)
			}
			if got := evalTest(t, twice, twice.Task(), a, cache); !sameMetrics(got, wantM, 1e-4) {
				t.Errorf("two copies: %v, the model: %v", got, wantM)
			}
			if got := predictAll(t, twice, in); !samePredictions(got, wantP) {
				t.Errorf("two copies predict\n%s\nthe model\n%s", got, wantP)
			}
			if g, ok := one.Task().(tasks.Generator); ok {
				checkGenerate(t, g, twice.Task().(tasks.Generator))
			}

			pair, err := model.OpenEnsemble([]string{a, b}, model.Options{})
			if err != nil {
				t.Fatal(err)
			}
			other, _ := model.Open(b, model.Options{})
			ens, mb := evalTest(t, pair, pair.Task(), a, cache), evalTest(t, other, other.Task(), b, cache)
			if ens["loss"] == wantM["loss"] || ens["loss"] == mb["loss"] {
				t.Errorf("ensemble of two seeds has the loss of a member: %g (members %g, %g)", ens["loss"], wantM["loss"], mb["loss"])
			}
		})
	}
}

// checkGenerate: two copies generate what one model does, greedy and beam.
func checkGenerate(t *testing.T, one, two tasks.Generator) {
	for _, o := range []tasks.GenerateOptions{{Num: 4, MaxLen: 10}, {Beam: 3, MaxLen: 10}} {
		a, err := one.Generate(o)
		if err != nil {
			t.Fatal(err)
		}
		b, err := two.Generate(o)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != len(b) {
			t.Fatalf("%+v: %d and %d sequences", o, len(a), len(b))
		}
		for i := range a {
			if a[i].Text != b[i].Text || math.Abs(a[i].LogProb-b[i].LogProb) > 1e-4 {
				t.Errorf("%+v: %+v, the model %+v", o, b[i], a[i])
			}
		}
	}
}

// sameMetrics compares metrics to a relative tolerance.
func sameMetrics(a, b tasks.Metrics, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || math.Abs(v-w) > tol*max(1, math.Abs(w)) {
			return false
		}
	}
	return true
}

// samePredictions compares predictions cell by cell, numbers (scores) to
// 1e-4, the rest exactly.
func samePredictions(a, b string) bool {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(la) != len(lb) {
		return false
	}
	for i := range la {
		ca, cb := strings.Split(la[i], "\t"), strings.Split(lb[i], "\t")
		if len(ca) != len(cb) {
			return false
		}
		for j := range ca {
			var x, y float64
			_, ex := fmt.Sscan(ca[j], &x)
			_, ey := fmt.Sscan(cb[j], &y)
			if ex == nil && ey == nil && !strings.ContainsAny(ca[j], " []") {
				if math.Abs(x-y) > 1e-4*max(1, math.Abs(y)) {
					return false
				}
				continue
			}
			if ca[j] != cb[j] {
				return false
			}
		}
	}
	return true
}
