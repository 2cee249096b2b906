package nn

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
)

// ReadSafetensors reads every float32 tensor of a safetensors file, in
// the order of their names, with the file's metadata: for tools that take a
// checkpoint as it is (averaging), where LoadSafetensors fills the tensors of
// a model built first. Every size comes from the header and is checked
// against the file's length before anything is allocated, so the tensors
// never take more memory than the file's size.
func ReadSafetensors(path string) ([]*Tensor[float32], map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("nn: read checkpoint: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("nn: read checkpoint: %w", err)
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("nn: read %s: %w: %s", path, ErrCheckpoint, fmt.Sprintf(format, a...))
	}
	var lenBuf [8]byte
	if _, err := io.ReadFull(f, lenBuf[:]); err != nil {
		return nil, nil, bad("file of %d bytes is too short for a safetensors header", st.Size())
	}
	hlen := binary.LittleEndian.Uint64(lenBuf[:])
	if hlen > MaxHeaderBytes || int64(hlen) > st.Size()-8 {
		return nil, nil, bad("header claims %d bytes in a file of %d", hlen, st.Size())
	}
	hj := make([]byte, hlen)
	if _, err := io.ReadFull(f, hj); err != nil {
		return nil, nil, bad("reading header: %v", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hj, &raw); err != nil {
		return nil, nil, bad("header is not valid JSON: %v", err)
	}
	delete(raw, "__metadata__")
	dataLen := st.Size() - 8 - int64(hlen)
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	slices.Sort(names)
	tensors := make([]*Tensor[float32], 0, len(names))
	for _, name := range names {
		var info tensorInfo
		if err := json.Unmarshal(raw[name], &info); err != nil {
			return nil, nil, bad("tensor %q: bad header entry: %v", name, err)
		}
		if info.DType != "F32" {
			return nil, nil, bad("tensor %q has dtype %s, want F32", name, info.DType)
		}
		n := int64(1)
		for _, d := range info.Shape {
			if d < 0 || (d > 0 && n > dataLen/int64(d)) {
				return nil, nil, bad("tensor %q: shape %v is larger than the file", name, info.Shape)
			}
			n *= int64(d)
		}
		if begin, end := info.Offsets[0], info.Offsets[1]; begin < 0 || end != begin+4*n || end > dataLen {
			return nil, nil, bad("tensor %q: data offsets [%d, %d] do not fit shape %v in %d bytes of data", name, begin, end, info.Shape, dataLen)
		}
		t := NewTensor[float32](info.Shape...)
		t.Name = name
		tensors = append(tensors, t)
	}
	meta, err := LoadSafetensors(path, tensors)
	if err != nil {
		return nil, nil, err
	}
	return tensors, meta, nil
}

// AverageSafetensors writes to dst the element-wise mean of the tensors of
// the checkpoints srcs (the same names and shapes in each), with the last
// one's metadata: checkpoint averaging, as fairseq's average_checkpoints
// does. It holds two checkpoints in memory at a time, summing in float64.
func AverageSafetensors(dst string, srcs []string) error {
	if len(srcs) == 0 {
		return fmt.Errorf("nn: no checkpoint to average")
	}
	var names []string
	var shapes [][]int
	var sum [][]float64
	var meta map[string]string
	for k, src := range srcs {
		ts, m, err := ReadSafetensors(src)
		if err != nil {
			return err
		}
		meta = m
		if k == 0 {
			for _, t := range ts {
				names, shapes = append(names, t.Name), append(shapes, t.Shape)
				sum = append(sum, make([]float64, len(t.Data)))
			}
		}
		if len(ts) != len(names) {
			return fmt.Errorf("nn: average: %s holds %d tensors, %s %d", src, len(ts), srcs[0], len(names))
		}
		for i, t := range ts {
			if t.Name != names[i] || !slices.Equal(t.Shape, shapes[i]) {
				return fmt.Errorf("nn: average: %s holds %s %v where %s holds %s %v", src, t.Name, t.Shape, srcs[0], names[i], shapes[i])
			}
			for j, v := range t.Data {
				sum[i][j] += float64(v)
			}
		}
	}
	out := make([]*Tensor[float32], len(names))
	for i := range names {
		t := NewTensor[float32](shapes[i]...)
		t.Name = names[i]
		for j, s := range sum[i] {
			t.Data[j] = float32(s / float64(len(srcs)))
		}
		if slices.ContainsFunc(t.Data, func(v float32) bool { return math.IsInf(float64(v), 0) }) {
			return fmt.Errorf("nn: average: tensor %s overflows", t.Name)
		}
		out[i] = t
	}
	return SaveSafetensors(dst, out, meta)
}
