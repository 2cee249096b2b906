package recipes_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/seqkit/seqkit/plugins"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/classify"
	"github.com/seqkit/seqkit/tasks/generate"
	"github.com/seqkit/seqkit/tasks/seq2seq"
	"github.com/seqkit/seqkit/tasks/tagging"
)

func registry(t testing.TB) *tasks.Registry {
	var reg tasks.Registry
	for _, typ := range []tasks.Type{tagging.Type(), classify.Type(), generate.Type(), seq2seq.Type(), new(plugins.Host).Type()} {
		if err := reg.Register(typ); err != nil {
			t.Fatal(err)
		}
	}
	return &reg
}

// TestErrors is the golden test of recipe errors: each names the file, line and
// column, the key path, and what is wrong.
func TestErrors(t *testing.T) {
	cases := []struct {
		file string
		sets []string
		want []string // each a full error line
	}{
		{"bad_key.yaml", nil, []string{
			`testdata/bad_key.yaml:4:3: model.hiden: unknown key; did you mean "hidden"? (known: bidirectional, cell, char, dropout, embedding, embedding_init, feature_embedding, forget_gate, hidden, layers, limits, peephole, variational, weight_dropout)`}},
		{"bad_type.yaml", nil, []string{
			`testdata/bad_type.yaml:6:11: train.epochs: want an integer, got "many"`}},
		{"missing_file.yaml", nil, []string{
			`testdata/missing_file.yaml:3:5: data.train: file not found: ` + abs(t, "testdata/nope.conll"),
			`testdata/missing_file.yaml:2:3: data: looked for ` + abs(t, "testdata/nope.conll") + `; a built-in recipe finds public datasets under the data root: set --data-root DIR or SEQKIT_DATA=DIR (default ../shared/datasets)`}},
		{"bad_range.yaml", nil, []string{
			`testdata/bad_range.yaml:3:18: model.dropout: must be at most 0.95, got 1.5`,
			`testdata/bad_range.yaml:3:29: model.cell: "lstmm" is not one of rnn, rnn_relu, lstm, gru; did you mean "lstm"?`}},
		{"bad_task.yaml", nil, []string{
			`testdata/bad_task.yaml:4:9: task.type: unknown task type "taging"; did you mean "tagging"? (known: classify, generate, plugin, seq2seq, tagging)`}},
		{"bad_task_option.yaml", nil, []string{
			`testdata/bad_task_option.yaml:5:3: task.label_smothing: unknown key; did you mean "label_smoothing"? (known: constrain, head, joint, label_smoothing, nbest, scheme, train_scheme)`}},
		{"misfit.yaml", nil, []string{
			`testdata/misfit.yaml:4:46: data.train.columns.label: the tagging task uses a sentence label only with task.joint`}},
		{"bad_column.yaml", nil, []string{
			`testdata/bad_column.yaml:3:5: data.train: ` + abs(t, "testdata/tiny.csv") + `:1: no column "words" for tokens; the header has "text", "tags", "label"`}},
		{"ok.yaml", []string{"train.bptt=35"}, []string{
			`--set train.bptt=35:1:12: train.bptt: the tagging task trains on whole sentences; bptt applies to streamed text`}},
		{"peephole_gru.yaml", nil, []string{
			`testdata/peephole_gru.yaml:5:13: model.peephole: peephole connections need cell: lstm, not gru`}},
		{"ok.yaml", []string{"model.hidden=abc"}, []string{
			`--set model.hidden=abc:1:14: model.hidden: want an integer, got "abc"`}},
		{"ok.yaml", []string{"model.hiddn=3"}, []string{
			`--set model.hiddn=3:1:1: model.hiddn: unknown key; did you mean "hidden"? (known: bidirectional, cell, char, dropout, embedding, embedding_init, feature_embedding, forget_gate, hidden, layers, limits, peephole, variational, weight_dropout)`}},
		// Model sizes past model.limits (the cases), each naming the key.
		{"ok.yaml", []string{"model.hidden=1000000"}, []string{
			`--set model.hidden=1000000:1:14: model.hidden: the model would have 8e+12 parameters (8e+12 of them sized by this key), more than model.limits.max_params (500000000): lower it, or raise the limit`}},
		{"ok.yaml", []string{"model.hidden=9223372036854775807"}, []string{
			`--set model.hidden=9223372036854775807:1:14: model.hidden: the model would have 6.81e+38 parameters (6.81e+38 of them sized by this key), more than model.limits.max_params (500000000): lower it, or raise the limit`}},
		{"ok.yaml", []string{"model.embedding=4000000000"}, []string{
			`--set model.embedding=4000000000:1:17: model.embedding: the model would have 4.11e+12 parameters (4.1e+12 of them sized by this key), more than model.limits.max_params (500000000): lower it, or raise the limit`}},
		{"ok.yaml", []string{"model.layers=100000000"}, []string{
			`--set model.layers=100000000:1:14: model.layers: the model would have 3.95e+13 parameters (3.95e+13 of them sized by this key), more than model.limits.max_params (500000000): lower it, or raise the limit`}},
		{"ok.yaml", []string{"model.hidden=12000", "model.limits.max_params=2000000000"}, []string{
			`--set model.hidden=12000:1:14: model.hidden: a training step would need about 21.3 GiB (1.16e+09 parameters, 3.2e+03 tokens a batch), more than model.limits.max_memory_bytes (16 GiB): lower it, or raise the limit`}},
		{"ok.yaml", []string{"data.batch.size=1000000"}, []string{
			`--set data.batch.size=1000000:1:17: data.batch.size: a training step would need about 1.42e+03 GiB (2.37e+05 parameters, 1e+08 tokens a batch), more than model.limits.max_memory_bytes (16 GiB): lower it, or raise the limit`}},
		{"ok.yaml", []string{"data.limits.max_line_bytes=9999999999"}, []string{
			`--set data.limits.max_line_bytes=9999999999:1:28: data.limits.max_line_bytes: must be at most 1073741824, got 9999999999`}},
		{"ok.yaml", []string{"model.limits.max_params=1000000000000"}, []string{
			`--set model.limits.max_params=1000000000000:1:25: model.limits.max_params: must be at most 100000000000, got 1000000000000`}},
		{"ok.yaml", []string{"train.epochs=9223372036854775000"}, []string{
			`--set train.epochs=9223372036854775000:1:14: train.epochs: must be at most 1000000, got 9223372036854775000`}},
		{"ok.yaml", []string{"model.hidden"}, []string{
			`--set model.hidden: want KEY=VALUE, such as model.hidden=256`}},
		{"ok.yaml", []string{"train.lr=0"}, []string{
			`--set train.lr=0:1:10: train.lr: must be greater than 0, got 0`}},
		// Tables: named once each, a file of a table format; data.train and
		// data.dev are not needed beside them.
		{"tables.yaml", nil, []string{
			`testdata/tables.yaml:4:14: data.tables[1].name: table "nodes" is given twice`,
			`testdata/tables.yaml:4:45: data.tables[1].format: a table is read from csv, tsv or jsonl, not parquet`,
			`testdata/tables.yaml:5:7: data.tables[2].name: missing: the name the task asks for`}},
		{"syntax.yaml", nil, []string{
			`testdata/syntax.yaml:1:1: YAML syntax: did not find expected ',' or '}'`}},
		{"cycle_a.yaml", nil, []string{
			`testdata/cycle_b.yaml:1:10: extends: extends itself: testdata/cycle_a.yaml → testdata/cycle_b.yaml → testdata/cycle_a.yaml`}},
	}
	for _, c := range cases {
		t.Run(c.file+strings.Join(c.sets, ","), func(t *testing.T) {
			_, err := recipes.Load(filepath.Join("testdata", c.file), recipes.Options{Tasks: registry(t), Sets: c.sets})
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, recipes.ErrRecipe) {
				t.Errorf("error does not wrap ErrRecipe: %v", err)
			}
			got := strings.Split(err.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func abs(t testing.TB, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestExtends checks that a recipe composes its base: keys override, sections
// merge, and each path resolves against the folder of the file that states it.
func TestExtends(t *testing.T) {
	r, err := recipes.Load("testdata/sub/child.yaml", recipes.Options{Tasks: registry(t), Sets: []string{"model.hidden=24", "train.schedule={kind: step, every: 10, factor: 0.5}"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "child" || r.Model.Cell != "gru" || r.Model.Hidden != 24 || r.Model.Embedding != 8 || r.Train.Epochs != 2 {
		t.Errorf("merged recipe: name %q cell %q hidden %d embedding %d epochs %d", r.Name, r.Model.Cell, r.Model.Hidden, r.Model.Embedding, r.Train.Epochs)
	}
	if r.Train.Schedule.Kind != "step" || r.Train.Schedule.Every != 10 {
		t.Errorf("schedule override: %+v", r.Train.Schedule)
	}
	// base.yaml says sub/tiny.conll relative to testdata/; child.yaml says
	// tiny.conll relative to testdata/sub/.
	if want := abs(t, "testdata/sub/tiny.conll"); r.Data.Train.Path != want || r.Data.Dev.Path != want {
		t.Errorf("train %s, dev %s; want both %s", r.Data.Train.Path, r.Data.Dev.Path, want)
	}
	if r.Model.Dropout != recipes.Default().Model.Dropout || !r.Model.ForgetGate {
		t.Errorf("defaults lost: %+v", r.Model)
	}
}

// TestShowRoundTrip checks that the effective recipe that recipe show prints and a
// run directory keeps loads back into the same recipe.
func TestShowRoundTrip(t *testing.T) {
	reg := registry(t)
	r, err := recipes.Load("testdata/sub/child.yaml", recipes.Options{Tasks: reg, Sets: []string{"task.label_smoothing=0.1", "task.head=softmax"}})
	if err != nil {
		t.Fatal(err)
	}
	y, err := r.YAML()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "recipe.yaml")
	if err := os.WriteFile(p, y, 0o644); err != nil {
		t.Fatal(err)
	}
	r2, err := recipes.Load(p, recipes.Options{Tasks: reg})
	if err != nil {
		t.Fatalf("effective recipe does not load: %v\n%s", err, y)
	}
	y2, _ := r2.YAML()
	if string(y) != string(y2) {
		t.Errorf("round trip changed the recipe:\n%s\nthen\n%s", y, y2)
	}
	if o := r2.Task.Options.(*tagging.Options); o.LabelSmoothing != 0.1 {
		t.Errorf("task option lost: %+v", o)
	}
}

// TestBuiltins checks that every built-in recipe loads (skipping those whose
// public data is absent) and that a missing data root is explained.
func TestBuiltins(t *testing.T) {
	if len(recipes.Names()) == 0 {
		t.Fatal("no built-in recipes")
	}
	const root = "../../shared/datasets"
	_, err := os.Stat(root)
	haveData := err == nil
	if !haveData {
		t.Logf("shared datasets not found at %s: built-in recipes are checked without their data", root)
	}
	for _, name := range recipes.Names() {
		_, err := recipes.Load(name, recipes.Options{Tasks: registry(t), DataRoot: root, SkipData: !haveData})
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := recipes.Load("taipei", recipes.Options{Tasks: registry(t), Sets: []string{"data.generate=null", "data.train.path=${data}/nowhere/train.conll"}, DataRoot: "/no/such/root"}); err == nil ||
		!strings.Contains(err.Error(), "/no/such/root/nowhere/train.conll") || !strings.Contains(err.Error(), "--data-root") {
		t.Errorf("missing data under the root: %v", err)
	}
}

func TestSchema(t *testing.T) {
	b, err := recipes.Schema(registry(t))
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	props := s["properties"].(map[string]any)
	model := props["model"].(map[string]any)["properties"].(map[string]any)
	if cell := model["cell"].(map[string]any); len(cell["enum"].([]any)) != 4 {
		t.Errorf("model.cell: %v", cell)
	}
	task := props["task"].(map[string]any)
	var then map[string]any // the tagging task's options
	for _, c := range task["allOf"].([]any) {
		c := c.(map[string]any)
		if c["then"].(map[string]any)["properties"].(map[string]any)["type"].(map[string]any)["const"] == "tagging" {
			then = c["then"].(map[string]any)
		}
	}
	if _, ok := then["properties"].(map[string]any)["label_smoothing"]; !ok {
		t.Errorf("tagging options missing from the schema: %v", then)
	}
	if s["additionalProperties"] != false {
		t.Errorf("unknown top-level keys allowed")
	}
}

// FuzzLoad feeds arbitrary recipe text (and one override) to Load, beside a
// base.yaml it may extend (or itself, a cycle): it must return a recipe or an
// error, never panic.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"ok.yaml", "base.yaml", "bad_key.yaml", "bad_range.yaml", "syntax.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "model.hidden=3")
	}
	b, _ := recipes.Builtin("taipei")
	f.Add(b, "train.schedule={kind: plateau}")
	f.Add([]byte("extends: base.yaml\nmodel: {hidden: 8}\n"), "task.type=tagging")
	f.Add([]byte("extends: r.yaml\n"), "")
	f.Add([]byte("extends: taipei\ntrain: {epochs: 2}\n"), "data.limits.max_tokens=5")
	base, err := os.ReadFile(filepath.Join("testdata", "base.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	reg := registry(f)
	f.Fuzz(func(t *testing.T, data []byte, set string) {
		dir := t.TempDir()
		p := filepath.Join(dir, "r.yaml")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		// A recipe the fuzzed one can extend (and which extends nothing).
		if err := os.WriteFile(filepath.Join(dir, "base.yaml"), base, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := recipes.Load(p, recipes.Options{Tasks: reg, Sets: []string{set}, SkipData: true})
		if err == nil {
			if _, err := r.YAML(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestSplit checks that data.split carves dev out of train.
func TestSplit(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := range 100 {
		fmt.Fprintf(&b, "w%d\tO\nx\tB-X\n\n", i)
	}
	os.WriteFile(filepath.Join(dir, "train.conll"), []byte(b.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "r.yaml"), []byte("data:\n  train: {path: train.conll}\n  split: {dev: 0.2, seed: 5}\ntask: {type: tagging}\n"), 0o644)
	r, err := recipes.Load(filepath.Join(dir, "r.yaml"), recipes.Options{Tasks: registry(t)})
	if err != nil {
		t.Fatal(err)
	}
	sp := r.Data.Splits()
	train, dev := sp["train"], sp["dev"]
	if dev.Path != train.Path || train.Part == nil || dev.Part == nil || train.Part.Index != 0 || dev.Part.Index != 1 ||
		dev.Part.Split.Ratios[1] != 0.2 || dev.Part.Split.Seed != 5 {
		t.Errorf("split: train %+v dev %+v", train, dev)
	}
	// The effective recipe (what a run directory keeps) loads back the same.
	y, err := r.YAML()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "effective.yaml"), y, 0o644)
	r2, err := recipes.Load(filepath.Join(dir, "effective.yaml"), recipes.Options{Tasks: registry(t)})
	if err != nil {
		t.Fatalf("effective recipe with data.split does not load: %v\n%s", err, y)
	}
	if y2, _ := r2.YAML(); string(y2) != string(y) || r2.Data.Splits()["dev"].Part == nil {
		t.Errorf("round trip changed the recipe:\n%s\nthen\n%s", y, y2)
	}
	if _, err := recipes.Load("testdata/sub/child.yaml", recipes.Options{Tasks: registry(t), Sets: []string{"data.split={dev: 0.2}"}}); err == nil ||
		!strings.Contains(err.Error(), "data.split: data.dev is given too") {
		t.Errorf("split beside dev: %v", err)
	}
}

// TestRecipeTooLarge: a file of megabytes given as the recipe (a dataset, say) is
// refused before it is read whole.
func TestRecipeTooLarge(t *testing.T) {
	p := filepath.Join(t.TempDir(), "train.tsv")
	if err := os.WriteFile(p, bytes.Repeat([]byte("arrive taipei\tO B-toloc\n"), 100_000), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := recipes.Load(p, recipes.Options{Tasks: registry(t)})
	if err == nil || !strings.Contains(err.Error(), "train.tsv: larger than 1048576 bytes: not a recipe") {
		t.Fatalf("error %v", err)
	}
}

// TestGeneratorBounds: the built-in generators refuse what would fill memory
// or disk: split sizes past a million, a series file that is not a regular
// file of at most 256 MiB, and windows that would repeat a hundred million
// numbers.
func TestGeneratorBounds(t *testing.T) {
	_, err := recipes.Load("taipei", recipes.Options{Tasks: registry(t), Sets: []string{"data.generate.train=2000000"}})
	if err == nil || !strings.Contains(err.Error(), "data.generate.train: must be at most 1000000") {
		t.Errorf("a split of 2 million: %v", err)
	}
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("date,value\n")
	for i := range 2000 {
		fmt.Fprintf(&b, "d%d,%d\n", i, i%7)
	}
	series := filepath.Join(dir, "series.csv")
	os.WriteFile(series, []byte(b.String()), 0o644)
	recipe := filepath.Join(dir, "w.yaml")
	os.WriteFile(recipe, []byte(`data: {generate: {name: windows, windows: {source: series.csv, column: 2, label: 1, context: 100000, horizon: 1, test_share: 0.1, dev_share: 0.1}}}
task: {type: plugin, name: forecast}
`), 0o644)
	r, err := recipes.Load(recipe, recipes.Options{Tasks: registry(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Materialize(t.TempDir()); err == nil || !strings.Contains(err.Error(), "2000 points with windows of 100001 values would write 2e+08 numbers, more than 100000000") {
		t.Errorf("windows of 100000: %v", err)
	}
	os.Remove(series)
	syscall.Mkfifo(series, 0o644)
	if err := r.Materialize(t.TempDir()); err == nil || !strings.Contains(err.Error(), "want a regular file of at most 268435456 bytes") {
		t.Errorf("a FIFO as the series: %v", err)
	}
}

// TestParse: a recipe written out (every default stated) parses from bytes to
// the same recipe, as a plugin receives it; extends is refused there.
func TestParse(t *testing.T) {
	r, err := recipes.Load("taipei", recipes.Options{Tasks: registry(t), SkipData: true})
	if err != nil {
		t.Fatal(err)
	}
	y, err := r.YAML()
	if err != nil {
		t.Fatal(err)
	}
	back, err := recipes.Parse("sent", y, recipes.Options{Tasks: registry(t), SkipData: true})
	if err != nil {
		t.Fatal(err)
	}
	y2, _ := back.YAML()
	if string(y2) != string(y) {
		t.Errorf("parsed back:\n%s\nwant\n%s", y2, y)
	}
	_, err = recipes.Parse("sent", append([]byte("extends: taipei\n"), y...), recipes.Options{Tasks: registry(t), SkipData: true})
	if err == nil || !strings.Contains(err.Error(), "sent:1:") || !strings.Contains(err.Error(), "extends") {
		t.Errorf("extends in a parsed recipe: %v", err)
	}
}

// TestDecodeSets: a trained model takes overrides of how it decodes only;
// every other key is refused by name, with the keys it does take.
func TestDecodeSets(t *testing.T) {
	reg := registry(t)
	if got, want := recipes.DecodeKeys(reg, "seq2seq"), []string{"task.beam", "task.length_penalty", "task.max_len_a", "task.max_len_b", "task.nbest", "task.strip_pattern"}; !slices.Equal(got, want) {
		t.Errorf("seq2seq decode keys %v, want %v", got, want)
	}
	if got := recipes.DecodeKeys(reg, "tagging"); !slices.Equal(got, []string{"task.constrain", "task.nbest"}) {
		t.Errorf("tagging decode keys %v", got)
	}
	if err := recipes.CheckDecodeSets(reg, "seq2seq", []string{"task.beam=5", "task.length_penalty=0.6"}); err != nil {
		t.Errorf("decoding options refused: %v", err)
	}
	err := recipes.CheckDecodeSets(reg, "seq2seq", []string{"task.beam=5", "model.hidden=8", "task.attention=dot"})
	var es recipes.Errors
	if !errors.As(err, &es) || len(es) != 2 || !errors.Is(err, recipes.ErrRecipe) {
		t.Fatalf("got %v, want two recipe errors", err)
	}
	for i, key := range []string{"model.hidden", "task.attention"} {
		if msg := es[i].Error(); !strings.Contains(msg, "--set "+key) || !strings.Contains(msg, "task.beam, task.length_penalty") {
			t.Errorf("error %q does not name %s and the keys taken", msg, key)
		}
	}
	if err := recipes.CheckDecodeSets(reg, "no-such-task", []string{"task.beam=5"}); err == nil {
		t.Error("an unknown task type took an override")
	}
}

// TestExtendsNameAndDescription: a recipe that extends another is named
// after its own file unless it says otherwise, and one that reads other
// data is not described as reading the base's.
func TestExtendsNameAndDescription(t *testing.T) {
	dir := t.TempDir()
	conll := filepath.Join(dir, "tiny.conll")
	b, _ := os.ReadFile("testdata/tiny.conll")
	os.WriteFile(conll, b, 0o644)
	for _, c := range []struct {
		file, yaml, name, desc string
	}{
		{"mine.yaml", "extends: conll2000-chunk\ndata: {train: {path: tiny.conll}, test: {path: tiny.conll}}\n", "mine", "the conll2000-chunk recipe on the data of " + filepath.Join(dir, "mine.yaml") + " (conll2000-chunk: BiLSTM-CRF chunker"},
		{"wider.yaml", "extends: conll2000-chunk\nmodel: {hidden: 300}\n", "wider", "BiLSTM-CRF chunker on CoNLL-2000"},
		{"own.yaml", "extends: conll2000-chunk\nname: chunks\ndescription: my chunker\ndata: {train: {path: tiny.conll}, test: {path: tiny.conll}}\n", "chunks", "my chunker"},
	} {
		p := filepath.Join(dir, c.file)
		os.WriteFile(p, []byte(c.yaml), 0o644)
		r, err := recipes.Load(p, recipes.Options{Tasks: registry(t), SkipData: true})
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if r.Name != c.name || !strings.HasPrefix(r.Description, c.desc) {
			t.Errorf("%s: name %q, description %q; want %q, %q…", c.file, r.Name, r.Description, c.name, c.desc)
		}
	}
}
