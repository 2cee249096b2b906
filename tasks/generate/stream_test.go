package generate_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/tasktest"
)

// writeCopyLines writes n lines "x--x" with x drawn from a and b: every
// character but the first of a line follows from what came before, the last x
// from a letter three steps back.
func writeCopyLines(t *testing.T, path string, n int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	var s strings.Builder
	for range n {
		x := string(rune('a' + rng.IntN(2)))
		s.WriteString(x + "--" + x + "\n")
	}
	if err := os.WriteFile(path, []byte(s.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestStatefulBPTT trains a character model over one stream in windows of 4
// steps. A line is 5 characters, so the letter to copy is often in the previous
// window: only the state carried across windows lets the model predict it. The
// dev NLL must come near the floor (ln 2 per line, 0.139 nats per character),
// and well below the NLL of the same model restarted at every window.
func TestStatefulBPTT(t *testing.T) {
	tmp := t.TempDir()
	train, dev := filepath.Join(tmp, "train.txt"), filepath.Join(tmp, "dev.txt")
	writeCopyLines(t, train, 3000, 1)
	writeCopyLines(t, dev, 400, 2)
	reg := registry(t)
	sets := []string{"train.bptt=4", "data.batch.size=16", "model.hidden=32", "model.layers=1", "model.dropout=0", "model.weight_dropout=0", "train.weight_decay=0",
		"model.embedding=8", "train.epochs=3", "train.lr=0.01", "train.schedule.kind=constant", "task.samples=3", "task.max_len=30"}
	for split, path := range map[string]string{"train": train, "dev": dev, "test": dev} {
		sets = append(sets, "data."+split+".path="+path, "data."+split+".stream=true")
	}
	res := tasktest.Run(t, reg, "names-lm", sets...)
	carried := res.Dev["nll"]
	// Every character of dev is scored but the first (400 lines of 5): none
	// is lost at the ends of the 16 parallel streams (1984 were, before).
	if res.Dev["tokens"] != 1999 {
		t.Errorf("dev scored %v characters of 2000, want 1999", res.Dev["tokens"])
	}
	run, err := tasks.LoadRun(res.Dir, reg, tasktest.DataRoot)
	if err != nil {
		t.Fatal(err)
	}
	data, err := tasks.Prepare(run.Recipe, res.Dir, tasks.PrepareOptions{CacheDir: t.TempDir(), Splits: []string{"dev"}})
	if err != nil {
		t.Fatal(err)
	}
	defer data.Close()
	restarted := func(yield func(*pipeline.Batch) bool) {
		for b := range tasks.EvalBatches(data.Dev, run.Recipe) {
			b.Offset = 0 // a fresh state for every window
			if !yield(b) {
				return
			}
		}
	}
	m, err := run.Task.Evaluate(restarted)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("dev NLL %.3f with the state carried, %.3f restarted at every window", carried, m["nll"])
	if carried > 0.2 {
		t.Errorf("dev NLL %.3f with the state carried across windows, want ≤ 0.2 (floor 0.139)", carried)
	}
	if m["nll"] < carried+0.05 {
		t.Errorf("dev NLL %.3f restarted at every window, want clearly above %.3f with the state carried", m["nll"], carried)
	}
	// Samples start at the beginning of a line and keep the pattern.
	if len(res.Generated) != 3 {
		t.Fatalf("%d samples, want 3", len(res.Generated))
	}
	for _, g := range res.Generated {
		lines := strings.Split(g.Text, "\n")
		for _, line := range lines[:len(lines)-1] { // the last may be cut short
			if len(line) != 4 || line[0] != line[3] || line[1:3] != "--" {
				t.Errorf("sampled line %q in %q breaks the pattern x--x", line, g.Text)
			}
		}
	}
}
