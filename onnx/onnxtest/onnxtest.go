// Package onnxtest runs exported models in ONNX Runtime for the parity tests:
// the onnxruntime-node package under onnx/ort, driven by its run.js, which
// bash .ci/run installs. Without it the tests skip, except in CI (CI=true),
// where they fail: the parity check must not pass by not running.
package onnxtest

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/seqkit/seqkit/onnx"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/tasktest"
)

// Value is a tensor going into or coming out of ONNX Runtime: its type
// (float32, int32, int64 or bool), shape and values.
type Value struct {
	Type string `json:"type"`
	Dims []int  `json:"dims"`
	Data []Num  `json:"data"`
}

// Num is a number of a Value: JSON's, or the strings Infinity, -Infinity and
// NaN, which run.js writes for what JSON cannot hold.
type Num float64

// UnmarshalJSON implements json.Unmarshaler.
func (n *Num) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"Infinity"`:
		*n = Num(math.Inf(1))
	case `"-Infinity"`:
		*n = Num(math.Inf(-1))
	case `"NaN"`:
		*n = Num(math.NaN())
	default:
		var f float64
		if err := json.Unmarshal(b, &f); err != nil {
			return err
		}
		*n = Num(f)
	}
	return nil
}

// F32 is a float32 value of the given shape.
func F32(data []float32, dims ...int) Value {
	v := Value{Type: "float32", Dims: dims, Data: make([]Num, len(data))}
	for i, x := range data {
		v.Data[i] = Num(x)
	}
	return v
}

// I64 is an int64 value of the given shape.
func I64(data []int32, dims ...int) Value {
	v := Value{Type: "int64", Dims: dims, Data: make([]Num, len(data))}
	for i, x := range data {
		v.Data[i] = Num(x)
	}
	return v
}

// I32 is an int32 value of the given shape.
func I32(data []int, dims ...int) Value {
	v := Value{Type: "int32", Dims: dims, Data: make([]Num, len(data))}
	for i, x := range data {
		v.Data[i] = Num(x)
	}
	return v
}

// Result is what one session reports: its input and output names and the
// outputs of every run.
type Result struct {
	Inputs  []string           `json:"inputs"`
	Outputs []string           `json:"outputs"`
	Runs    []map[string]Value `json:"runs"`
}

// dir is onnx/ort, found from this file's place in the repository.
func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "ort")
}

// Need skips the test when node or onnxruntime-node is missing (outside CI).
func Need(t testing.TB) {
	t.Helper()
	_, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir(), "node_modules", "onnxruntime-node"))
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("ONNX Runtime is missing (%v): .ci/run installs it with npm ci --prefix onnx/ort", err)
		}
		t.Skipf("ONNX Runtime is not installed (%v): npm ci --prefix onnx/ort installs it", err)
	}
}

// Run writes model to a temporary file and runs it once per element of runs
// in one ONNX Runtime session.
func Run(t testing.TB, model []byte, runs ...map[string]Value) Result {
	t.Helper()
	Need(t)
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := os.WriteFile(path, model, 0o644); err != nil {
		t.Fatal(err)
	}
	return RunFile(t, path, runs...)
}

// RunFile is Run on a model file.
func RunFile(t testing.TB, path string, runs ...map[string]Value) Result {
	t.Helper()
	Need(t)
	job, err := json.Marshal(map[string]any{"model": path, "runs": runs})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", filepath.Join(dir(), "run.js"))
	cmd.Stdin = bytes.NewReader(job)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ONNX Runtime: %v\n%s", err, stderr.String())
	}
	var res Result
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("ONNX Runtime's answer: %v", err)
	}
	return res
}

// Feeds are the encoder inputs of batch b (package kit's names): ids,
// lengths, and features, chars and char_lengths when the batch has them. A
// token without characters reads <unk>, as the encoder does.
func Feeds(b *pipeline.Batch) map[string]Value {
	f := map[string]Value{
		"ids":     I64(b.IDs, b.T, b.B),
		"lengths": I32(b.Lengths, b.B),
	}
	if b.Feature != nil {
		f["features"] = I64(b.Feature, b.T, b.B)
	}
	if b.Chars != nil {
		W := 1
		for _, cs := range b.Chars {
			W = max(W, len(cs))
		}
		chars, n := make([]int32, b.T*b.B*W), make([]int, b.T*b.B)
		for p, cs := range b.Chars {
			if len(cs) == 0 {
				cs = []int32{pipeline.UnkID}
			}
			copy(chars[p*W:], cs)
			n[p] = len(cs)
		}
		f["chars"], f["char_lengths"] = I64(chars, b.T, b.B, W), I32(n, b.T, b.B)
	}
	return f
}

// Tol is the parity asked of every export: ONNX Runtime's outputs within
// 1e-5 of seqkit's (relative, for values above 1).
const Tol = 1e-5

// Near fails the test at the first element of got not within Tol of want,
// over the positions keep says to compare (nil: all), and logs the largest
// difference.
func Near(t testing.TB, what string, got Value, want []float32, keep func(i int) bool) {
	t.Helper()
	if len(got.Data) != len(want) {
		t.Fatalf("%s: %d values from ONNX Runtime, want %d (dims %v)", what, len(got.Data), len(want), got.Dims)
	}
	worst := 0.0
	for i, w := range want {
		if keep != nil && !keep(i) {
			continue
		}
		g := float64(got.Data[i])
		d := math.Abs(g-float64(w)) / max(1, math.Abs(float64(w)))
		if math.IsInf(g, 0) && g == float64(w) {
			d = 0
		}
		if !(d <= Tol) {
			t.Fatalf("%s[%d]: ONNX Runtime %g, seqkit %g", what, i, got.Data[i], w)
		}
		worst = max(worst, d)
	}
	t.Logf("%s: %d values, largest difference %.2g", what, len(want), worst)
}

// Export builds and encodes an exporter's graphs, by part name.
func Export(t testing.TB, e onnx.Exporter) map[string][]byte {
	t.Helper()
	parts, err := e.ExportONNX()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, p := range parts {
		b, err := p.Graph.Marshal("test")
		if err != nil {
			t.Fatal(err)
		}
		out[p.Name] = b
	}
	return out
}

// TestBatches returns the first n evaluation batches of the test split of
// the run in run.Dir: the real batches the exported model is checked on.
func TestBatches(t testing.TB, run *tasks.Loaded, n int) []*pipeline.Batch {
	t.Helper()
	data, err := tasks.Prepare(run.Recipe, run.Dir, tasks.PrepareOptions{CacheDir: t.TempDir(), Splits: []string{"test"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { data.Close() }) // the batches may view its buffers
	var out []*pipeline.Batch
	for b := range tasks.EvalBatches(data.Test, run.Recipe) {
		if len(out) == n {
			break
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		t.Fatal("the test split has no batches")
	}
	return out
}

// Meta reads the metadata properties of an encoded ONNX model.
func Meta(t testing.TB, model []byte) map[string]string {
	t.Helper()
	meta := map[string]string{}
	for b := model; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("model: %v", protowire.ParseError(n))
		}
		b = b[n:]
		if num != 14 || typ != protowire.BytesType { // ModelProto.metadata_props
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				t.Fatalf("model: %v", protowire.ParseError(n))
			}
			b = b[n:]
			continue
		}
		entry, n := protowire.ConsumeBytes(b)
		if n < 0 {
			t.Fatalf("model: %v", protowire.ParseError(n))
		}
		b = b[n:]
		var kv [2]string
		for len(entry) > 0 {
			f, _, m := protowire.ConsumeTag(entry)
			s, k := protowire.ConsumeString(entry[m:])
			if m < 0 || k < 0 || f < 1 || f > 2 {
				t.Fatal("model: a bad metadata entry")
			}
			kv[f-1] = s
			entry = entry[m+k:]
		}
		meta[kv[0]] = kv[1]
	}
	return meta
}

// Trained trains the recipe (a built-in name or a file) with sets on the
// task type typ, as tasktest.Run does, and loads the run for inference as
// seqkit export does.
func Trained(t testing.TB, typ tasks.Type, recipe string, sets ...string) *tasks.Loaded {
	t.Helper()
	var reg tasks.Registry
	if err := reg.Register(typ); err != nil {
		t.Fatal(err)
	}
	res := tasktest.Run(t, &reg, recipe, sets...)
	run, err := tasks.LoadRun(res.Dir, &reg, tasktest.DataRoot)
	if err != nil {
		t.Fatal(err)
	}
	return run
}
