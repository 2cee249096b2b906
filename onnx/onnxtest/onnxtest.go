// Package onnxtest runs exported models in ONNX Runtime for the parity tests:
// the onnxruntime-node package under onnx/ort, driven by its run.js, which
// bash .ci/run installs. Without it the tests skip, except in CI (CI=true),
// where they fail: the parity check must not pass by not running.
package onnxtest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Value is a tensor going into or coming out of ONNX Runtime: its type
// (float32, int32, int64 or bool), shape and values.
type Value struct {
	Type string    `json:"type"`
	Dims []int     `json:"dims"`
	Data []float64 `json:"data"`
}

// F32 is a float32 value of the given shape.
func F32(data []float32, dims ...int) Value {
	v := Value{Type: "float32", Dims: dims, Data: make([]float64, len(data))}
	for i, x := range data {
		v.Data[i] = float64(x)
	}
	return v
}

// I64 is an int64 value of the given shape.
func I64(data []int32, dims ...int) Value {
	v := Value{Type: "int64", Dims: dims, Data: make([]float64, len(data))}
	for i, x := range data {
		v.Data[i] = float64(x)
	}
	return v
}

// I32 is an int32 value of the given shape.
func I32(data []int, dims ...int) Value {
	v := Value{Type: "int32", Dims: dims, Data: make([]float64, len(data))}
	for i, x := range data {
		v.Data[i] = float64(x)
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
