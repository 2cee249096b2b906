package nn_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seqkit/seqkit/nn"
)

func checkpointModel(t *testing.T, seed uint64) []*nn.Tensor[float32] {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0))
	emb := nn.NewEmbedding[float32]("embedding", 10, 4, 0, rng)
	r, err := nn.NewRNN[float32]("rnn", nn.RNNConfig{Cell: nn.LSTM, InputSize: 4, HiddenSize: 3, Layers: 2, Bidirectional: true, Peephole: true}, rng)
	if err != nil {
		t.Fatal(err)
	}
	return append(append(emb.Params(), r.Params()...), nn.NewLinear[float32]("head", 6, 2, rng).Params()...)
}

func TestSafetensorsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.safetensors")
	saved := checkpointModel(t, 1)
	if err := nn.SaveSafetensors(path, saved, map[string]string{"cell": "lstm"}); err != nil {
		t.Fatal(err)
	}
	loaded := checkpointModel(t, 2) // different values, same names and shapes
	meta, err := nn.LoadSafetensors(path, loaded)
	if err != nil {
		t.Fatal(err)
	}
	if meta["cell"] != "lstm" {
		t.Errorf("metadata = %v", meta)
	}
	for k := range saved {
		for i := range saved[k].Data {
			if saved[k].Data[i] != loaded[k].Data[i] {
				t.Fatalf("%s[%d]: loaded %g, saved %g", saved[k].Name, i, loaded[k].Data[i], saved[k].Data[i])
			}
		}
	}
	names := map[string]bool{}
	for _, p := range saved {
		names[p.Name] = true
	}
	for _, want := range []string{"embedding.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l1_reverse", "rnn.bias_ih_l1", "rnn.weight_peephole_l0_reverse", "head.weight"} {
		if !names[want] {
			t.Errorf("no tensor named %s", want)
		}
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*"))
	if len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func TestSafetensorsErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.safetensors")
	if err := nn.SaveSafetensors(good, checkpointModel(t, 1), nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The same header with its first tensor's entry written twice.
	hlen := binary.LittleEndian.Uint64(data)
	header := string(data[8 : 8+hlen])
	var first string
	if i := strings.Index(header, `"embedding.weight":{`); i >= 0 {
		first = header[i : i+strings.Index(header[i:], "}")+1]
	}
	twice := strings.Replace(header, first, first+","+first, 1)
	dup := binary.LittleEndian.AppendUint64(nil, uint64(len(twice)))
	dup = append(append(dup, twice...), data[8+hlen:]...)
	nanModel := checkpointModel(t, 1)
	nanModel[1].Data[3] = float32(math.NaN())
	withNaN := filepath.Join(dir, "nan.safetensors")
	if err := nn.SaveSafetensors(withNaN, nanModel, nil); err != nil {
		t.Fatal(err)
	}
	hugeHeader := append([]byte(nil), data...)
	binary.LittleEndian.PutUint64(hugeHeader, 1<<40)
	cases := []struct {
		name  string
		path  string
		model func() []*nn.Tensor[float32]
		want  string
	}{
		{"wrong shape", good, func() []*nn.Tensor[float32] {
			m := checkpointModel(t, 1)
			m[1] = nn.NewTensor[float32](12, 5)
			m[1].Name = "rnn.weight_ih_l0"
			return m
		}, `tensor "rnn.weight_ih_l0" has shape [12 4], want [12 5]`},
		{"missing tensor", good, func() []*nn.Tensor[float32] {
			m := checkpointModel(t, 1)
			extra := nn.NewTensor[float32](3)
			extra.Name = "rnn.weight_ih_l9"
			return append(m, extra)
		}, `tensor "rnn.weight_ih_l9" is missing`},
		{"unexpected tensor", good, func() []*nn.Tensor[float32] { return checkpointModel(t, 1)[1:] }, "unexpected tensors embedding.weight"},
		{"truncated header", write("trunc-header", data[:40]), nil, "truncated"},
		{"truncated data", write("trunc-data", data[:len(data)-10]), nil, "truncated"},
		{"too short", write("short", data[:5]), nil, "too short"},
		{"huge header", write("huge", hugeHeader), nil, "more than the limit"},
		{"duplicate name", write("dup", dup), nil, `tensor "embedding.weight" is named twice in the header`},
		{"NaN weight", withNaN, nil, `tensor "rnn.weight_ih_l0" holds NaN at index 3`},
		{"not json", write("garbage", append([]byte{8, 0, 0, 0, 0, 0, 0, 0}, "{{{{{{{{"...)), nil, "not valid JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			model := checkpointModel(t, 1)
			if c.model != nil {
				model = c.model()
			}
			_, err := nn.LoadSafetensors(c.path, model)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, nn.ErrCheckpoint) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
				t.Fatalf("error %q: want ErrCheckpoint naming the file and %q", err, c.want)
			}
		})
	}
	t.Run("wrong dtype", func(t *testing.T) {
		r, _ := nn.NewRNN[float64]("rnn", nn.RNNConfig{Cell: nn.GRU, InputSize: 2, HiddenSize: 2}, rand.New(rand.NewPCG(1, 1)))
		p := filepath.Join(dir, "f64.safetensors")
		if err := nn.SaveSafetensors(p, r.Params(), nil); err != nil {
			t.Fatal(err)
		}
		r32, _ := nn.NewRNN[float32]("rnn", nn.RNNConfig{Cell: nn.GRU, InputSize: 2, HiddenSize: 2}, rand.New(rand.NewPCG(1, 1)))
		if _, err := nn.LoadSafetensors(p, r32.Params()); err == nil || !strings.Contains(err.Error(), "dtype F64, want F32") {
			t.Fatalf("error %v, want a dtype mismatch", err)
		}
	})
}

// FuzzLoadSafetensors feeds arbitrary bytes as a checkpoint: loading may fail but
// must never panic or allocate without bound.
func FuzzLoadSafetensors(f *testing.F) {
	dir := f.TempDir()
	good := filepath.Join(dir, "seed.safetensors")
	w := nn.NewTensor[float32](2, 3)
	w.Name = "w"
	if err := nn.SaveSafetensors(good, []*nn.Tensor[float32]{w}, map[string]string{"a": "b"}); err != nil {
		f.Fatal(err)
	}
	seed, _ := os.ReadFile(good)
	f.Add(seed)
	f.Add(seed[:20])
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "x.safetensors")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		w := nn.NewTensor[float32](2, 3)
		w.Name = "w"
		nn.LoadSafetensors(p, []*nn.Tensor[float32]{w})
		// Reading a checkpoint whole allocates no more than the file holds.
		if ts, _, err := nn.ReadSafetensors(p); err == nil {
			n := 0
			for _, t := range ts {
				n += 4 * len(t.Data)
			}
			if n > len(data) {
				t.Errorf("read %d bytes of tensors from a file of %d", n, len(data))
			}
		}
	})
}

// TestAverageSafetensors: the average of checkpoints is their element-wise
// mean, refused for checkpoints of different shapes; ReadSafetensors reads
// what Save wrote and refuses a header whose shapes outgrow the file.
func TestAverageSafetensors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, shape []int, vals ...float32) string {
		w := nn.NewTensor[float32](shape...)
		w.Name = "w"
		copy(w.Data, vals)
		b := nn.NewTensor[float32](1)
		b.Name, b.Data[0] = "b", vals[0]*10
		p := filepath.Join(dir, name)
		if err := nn.SaveSafetensors(p, []*nn.Tensor[float32]{w, b}, map[string]string{"task": name}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a", []int{2, 2}, 1, 2, 3, 4)
	b := write("b", []int{2, 2}, 3, 2, 1, 0)
	c := write("c", []int{2, 2}, 2, 5, 2, 2)
	out := filepath.Join(dir, "avg")
	if err := nn.AverageSafetensors(out, []string{a, b, c}); err != nil {
		t.Fatal(err)
	}
	ts, meta, err := nn.ReadSafetensors(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].Name != "b" || ts[0].Data[0] != 20 || ts[1].Name != "w" || !slices.Equal(ts[1].Data, []float32{2, 3, 2, 2}) || meta["task"] != "c" {
		t.Errorf("average %v %v %v", ts[0], ts[1], meta)
	}
	if err := nn.AverageSafetensors(out, []string{a, write("d", []int{4}, 1, 2, 3, 4)}); err == nil {
		t.Error("checkpoints of different shapes averaged")
	}
	// A header claiming a tensor larger than the file.
	raw, _ := os.ReadFile(a)
	hostile := bytes.Replace(raw, []byte(`"shape":[2,2]`), []byte(`"shape":[999999999,999999999]`), 1)
	hostile = append(binary.LittleEndian.AppendUint64(nil, binary.LittleEndian.Uint64(hostile)+uint64(len(hostile)-len(raw))), hostile[8:]...)
	p := filepath.Join(dir, "hostile")
	os.WriteFile(p, hostile, 0o644)
	if _, _, err := nn.ReadSafetensors(p); !errors.Is(err, nn.ErrCheckpoint) {
		t.Errorf("hostile shape: %v", err)
	}
}
