package generate_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seqkit/seqkit/tasks/rundir"
	"github.com/seqkit/seqkit/tasks/tasktest"
)

func readJSONL(t *testing.T, path string) []map[string]any {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, m)
	}
	return rows
}

// patterns are what each class writes, repeated two to four times.
var patterns = []string{"ab", "cd", "ef"}

// writeConditioned writes n JSON lines of a class's pattern, with the class as
// a label and as a noisy one-hot vector of 4 numbers (the last pure noise).
func writeConditioned(t *testing.T, path string, n int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 2))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	for range n {
		c := rng.IntN(len(patterns))
		vec := make([]float64, 4)
		for k := range vec {
			vec[k] = 0.1 * rng.NormFloat64()
		}
		vec[c] += 1
		enc.Encode(map[string]any{"text": strings.Repeat(patterns[c], 2+rng.IntN(3)), "class": fmt.Sprint("c", c), "vec": vec})
	}
}

// TestConditionedOn trains generators conditioned on a vector column (first
// state and extra input at every step) and on a label column (extra input): the
// samples for a condition must be written in its class's letters.
func TestConditionedOn(t *testing.T) {
	tmp := t.TempDir()
	train, dev := filepath.Join(tmp, "train.jsonl"), filepath.Join(tmp, "dev.jsonl")
	writeConditioned(t, train, 1500, 1)
	writeConditioned(t, dev, 200, 2)
	onehot := []string{"1 0 0 0", "0, 1, 0, 0", "0 0 1 0.05"}
	for _, tc := range []struct {
		column, mode string
		conds        []string
	}{
		{"vector", "init", onehot},
		{"vector", "input", onehot},
		{"label", "input", []string{"c0", "c1", "c2"}},
	} {
		t.Run(tc.column+"/"+tc.mode, func(t *testing.T) {
			cols := fmt.Sprintf("{text: text, %s: %s}", tc.column, map[string]string{"vector": "vec", "label": "class"}[tc.column])
			sets := []string{"task.condition=" + tc.mode, "model.hidden=32", "model.layers=1", "model.dropout=0", "model.weight_dropout=0", "train.weight_decay=0",
				"model.embedding=8", "train.epochs=3", "train.lr=0.01", "train.schedule.kind=constant", "task.samples=6"}
			for split, path := range map[string]string{"train": train, "dev": dev, "test": dev} {
				sets = append(sets, "data."+split+".path="+path, "data."+split+".columns="+cols, "data."+split+".format=jsonl")
			}
			reg := registry(t)
			res := tasktest.Run(t, reg, "names-lm", sets...)
			t.Logf("dev %v", res.Dev)
			if nll := res.Dev["nll"]; nll > 0.5 {
				t.Errorf("dev NLL %.3f, want ≤ 0.5: given the class, only the length is uncertain", nll)
			}
			// The test predictions hold each row's generation for its condition.
			rows := readJSONL(t, filepath.Join(res.Dir, rundir.PredictionsFile))
			if len(rows) != 200 {
				t.Fatalf("%d predictions, want 200", len(rows))
			}
			for _, row := range rows {
				want := patterns[(row["text"].(string)[0]-'a')/2]
				if g, _ := row["generated"].(string); g == "" || strings.Trim(g, want) != "" {
					t.Errorf("row %v: generated %q", row["text"], row["generated"])
					break
				}
			}
			gen := load(t, reg, res.Dir)
			for c, cond := range tc.conds {
				o := gen.GenerateDefaults()
				o.Num, o.Seed, o.Condition = 10, 3, cond
				out, err := gen.Generate(o)
				if err != nil {
					t.Fatal(err)
				}
				for _, g := range out {
					if strings.Trim(g.Text, patterns[c]) != "" || g.Text == "" || g.Condition != cond {
						t.Errorf("condition %q (class %d): generated %q, condition %q", cond, c, g.Text, g.Condition)
					}
				}
			}
			if tc.column == "vector" {
				o := gen.GenerateDefaults()
				for _, bad := range []string{"", "1 0 0", "1 0 x 0"} {
					o.Condition = bad
					if _, err := gen.Generate(o); err == nil {
						t.Errorf("condition %q for a model of 4-number vectors: no error", bad)
					}
				}
			}
		})
	}
}
