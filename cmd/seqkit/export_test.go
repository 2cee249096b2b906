package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seqkit/seqkit/onnx/onnxtest"
	"github.com/seqkit/seqkit/tasks/rundir"
)

// TestExport is seqkit export as a user runs it: the Taipei demo's model,
// read back with its own metadata (vocabularies, tags, recipe), tags a
// sentence in ONNX Runtime, by Viterbi over the exported CRF scores, as
// seqkit predict does; a seq2seq run writes its encoder and decoder files;
// a folder of seeds, another format and a bad -o are refused.
func TestExport(t *testing.T) {
	onnxtest.Need(t)
	run, _ := demo(t)
	tmp := t.TempDir()
	path := filepath.Join(tmp, "taipei.onnx")
	r := seqkit(t, tmp, "export", "-m", run, "-o", path)
	if r.code != 0 || !strings.Contains(r.stdout, "input  ids") || !strings.Contains(r.stdout, "output transitions") {
		t.Fatalf("export: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	model, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The same run exports the same bytes.
	if r := seqkit(t, tmp, "export", "-m", run, "-o", filepath.Join(tmp, "again.onnx")); r.code != 0 {
		t.Fatalf("export again: exit %d\n%s", r.code, r.stderr)
	}
	if again, _ := os.ReadFile(filepath.Join(tmp, "again.onnx")); !slices.Equal(again, model) {
		t.Error("two exports of one run differ")
	}
	meta := onnxtest.Meta(t, model)
	var vocab, tags []string
	if err := json.Unmarshal([]byte(meta["seqkit.vocab.input"]), &vocab); err != nil {
		t.Fatalf("seqkit.vocab.input: %v", err)
	}
	if err := json.Unmarshal([]byte(meta["seqkit.tags"]), &tags); err != nil {
		t.Fatalf("seqkit.tags: %v", err)
	}
	if meta["seqkit.task"] != "tagging" || meta["seqkit.tag_scheme"] == "" || !strings.Contains(meta["seqkit.recipe"], "taipei") {
		t.Errorf("metadata %v", meta)
	}

	sentence := "arrive taipei on november 2nd"
	words := strings.Fields(sentence)
	ids := make([]int32, len(words))
	for i, w := range words {
		ids[i] = 1 // <unk>
		if k := slices.Index(vocab, w); k >= 0 {
			ids[i] = int32(k)
		}
	}
	out := onnxtest.Run(t, model, map[string]onnxtest.Value{
		"ids": onnxtest.I64(ids, len(ids), 1), "lengths": onnxtest.I32([]int{len(ids)}, 1),
	}).Runs[0]
	got := make([]string, len(ids))
	for i, k := range viterbi1(out, len(ids), len(tags)) {
		got[i] = tags[k]
	}

	in := filepath.Join(tmp, "in.txt")
	os.WriteFile(in, []byte(sentence+"\n"), 0o644)
	if r := seqkit(t, tmp, "predict", "-m", run, "--input", in, "--output", "pred.jsonl"); r.code != 0 {
		t.Fatalf("predict: exit %d\n%s", r.code, r.stderr)
	}
	b, _ := os.ReadFile(filepath.Join(tmp, "pred.jsonl"))
	var pred struct{ Tags []string }
	if err := json.Unmarshal(b, &pred); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, pred.Tags) || !slices.Contains(got, "B-toloc.city_name") {
		t.Errorf("ONNX Runtime tags %v, seqkit predict %v", got, pred.Tags)
	}

	rev := demoRunOf(t)
	r = seqkit(t, tmp, "export", "-m", rev, "-o", filepath.Join(tmp, "rev.onnx"))
	for _, f := range []string{"rev.encoder.onnx", "rev.decoder.onnx"} {
		if _, err := os.Stat(filepath.Join(tmp, f)); err != nil || r.code != 0 {
			t.Errorf("seq2seq export: %s: %v (exit %d)\n%s", f, err, r.code, r.stderr)
		}
	}

	seeds := filepath.Join(tmp, "seeds")
	os.MkdirAll(rundir.SeedDir(seeds, 1), 0o755)
	os.WriteFile(filepath.Join(seeds, rundir.SeedsFile), []byte("{}"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-m", seeds}, "folder of seeds"},
		{[]string{"-m", run, "--format", "tflite"}, "the one format is onnx"},
		{[]string{"-m", run, "-o", filepath.Join(tmp, "x.bin")}, "NAME.onnx"},
		{nil, "-m RUN_DIR"},
	} {
		r := seqkit(t, tmp, append([]string{"export"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("export %v: exit %d, want 2 and %q\n%s", c.args, r.code, c.want, r.stderr)
		}
	}
}

// viterbi1 decodes the one sequence of an exported CRF tagger's outputs.
func viterbi1(out map[string]onnxtest.Value, L, C int) []int {
	em, trans := out["emissions"].Data, out["transitions"].Data
	start, end := out["start_transitions"].Data, out["end_transitions"].Data
	score := make([]float64, C)
	for c := range C {
		score[c] = float64(start[c] + em[c])
	}
	back := make([][]int, L)
	for t := 1; t < L; t++ {
		next, bp := make([]float64, C), make([]int, C)
		for c := range C {
			next[c] = math.Inf(-1)
			for p := range C {
				if s := score[p] + float64(trans[p*C+c]); s > next[c] {
					next[c], bp[c] = s, p
				}
			}
			next[c] += float64(em[t*C+c])
		}
		score, back[t] = next, bp
	}
	best := 0
	for c := range C {
		if score[c]+float64(end[c]) > score[best]+float64(end[best]) {
			best = c
		}
	}
	path := make([]int, L)
	path[L-1] = best
	for t := L - 1; t > 0; t-- {
		path[t-1] = back[t][path[t]]
	}
	return path
}

// TestExportStopped: a stopped export (the first Ctrl-C cancels the command's
// context) writes neither the file nor a temporary one.
func TestExportStopped(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(signalled{os.Interrupt})
	err := writeStoppable(ctx, &env{}, filepath.Join(dir, "m.onnx"), []byte("model"))
	if entries, _ := os.ReadDir(dir); err == nil || len(entries) != 0 {
		t.Errorf("stopped export: error %v, files %v", err, entries)
	}
	if err := writeStoppable(context.Background(), &env{}, filepath.Join(dir, "m.onnx"), []byte("model")); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 || entries[0].Name() != "m.onnx" {
		t.Errorf("export wrote %v", entries)
	}
}
