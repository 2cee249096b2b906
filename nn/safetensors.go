package nn

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/seqkit/seqkit/internal/atomicfile"
)

// MaxHeaderBytes bounds the JSON header of a safetensors file that Load will read,
// so a corrupt or hostile length field cannot make it allocate gigabytes.
const MaxHeaderBytes = 100 << 20

// ErrCheckpoint is wrapped by every error about a checkpoint file's content.
var ErrCheckpoint = errors.New("invalid checkpoint")

type tensorInfo struct {
	DType   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

func dtypeOf[T Float]() (string, int) {
	var z T
	if _, ok := any(z).(float32); ok {
		return "F32", 4
	}
	return "F64", 8
}

// SaveSafetensors writes tensors (keyed by their Name) and string metadata to path in
// the safetensors format (little-endian, header JSON then raw data), readable by
// Python's safetensors and torch. The write is atomic: data goes to a temporary file
// in the same folder, is fsynced and renamed over path, so a crash leaves either the
// old file or the new one, never half of one.
func SaveSafetensors[T Float](path string, tensors []*Tensor[T], metadata map[string]string) error {
	dtype, size := dtypeOf[T]()
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var off int64
	for _, t := range tensors {
		if t.Name == "" {
			return fmt.Errorf("nn: save %s: a tensor has no name", path)
		}
		if _, dup := header[t.Name]; dup || t.Name == "__metadata__" {
			return fmt.Errorf("nn: save %s: duplicate tensor name %q", path, t.Name)
		}
		n := int64(len(t.Data) * size)
		header[t.Name] = tensorInfo{DType: dtype, Shape: t.Shape, Offsets: [2]int64{off, off + n}}
		off += n
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("nn: save %s: %w", path, err)
	}
	if pad := (8 - len(hj)%8) % 8; pad > 0 { // align data to 8 bytes, as the format recommends
		hj = append(hj, bytes.Repeat([]byte{' '}, pad)...)
	}
	return writeAtomic(path, func(w io.Writer) error {
		var lenBuf [8]byte
		binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hj)))
		if _, err := w.Write(lenBuf[:]); err != nil {
			return err
		}
		if _, err := w.Write(hj); err != nil {
			return err
		}
		buf := make([]byte, 0, 1<<16)
		for _, t := range tensors {
			for _, v := range t.Data {
				if len(buf)+size > cap(buf) {
					if _, err := w.Write(buf); err != nil {
						return err
					}
					buf = buf[:0]
				}
				if size == 4 {
					buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(float32(v)))
				} else {
					buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(float64(v)))
				}
			}
		}
		_, err := w.Write(buf)
		return err
	})
}

// writeAtomic writes a file through a temporary sibling, fsync and rename.
func writeAtomic(path string, write func(io.Writer) error) error {
	if err := atomicfile.Write(path, write); err != nil {
		return fmt.Errorf("nn: save %s: %w", path, err)
	}
	return nil
}

// duplicateKey reports the first name that the header's top-level object
// holds twice (the header is valid JSON).
func duplicateKey(header []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(header))
	if _, err := dec.Token(); err != nil { // {
		return "", false
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		key, _ := tok.(string)
		if seen[key] {
			return key, true
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", false
		}
	}
	return "", false
}

// LoadSafetensors reads path into tensors, matching by Name, and returns the file's
// metadata. It is strict: every tensor must be in the file with the same shape and
// dtype, and the file must hold no tensor the caller did not ask for. Any difference,
// a truncated file or a corrupt header is an error wrapping [ErrCheckpoint] that names
// the file, the tensor and what differs. On error the tensors may be partly
// overwritten.
// Long on purpose: each check of the header and of every tensor comes
// before the allocation it guards, in file order.
func LoadSafetensors[T Float](path string, tensors []*Tensor[T]) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("nn: load checkpoint: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("nn: load checkpoint: %w", err)
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("nn: load %s: %w: %s", path, ErrCheckpoint, fmt.Sprintf(format, a...))
	}
	var lenBuf [8]byte
	if _, err := io.ReadFull(f, lenBuf[:]); err != nil {
		return nil, bad("file of %d bytes is too short for a safetensors header", st.Size())
	}
	hlen := binary.LittleEndian.Uint64(lenBuf[:])
	if hlen > MaxHeaderBytes {
		return nil, bad("header claims %d bytes, more than the limit of %d", hlen, MaxHeaderBytes)
	}
	if int64(hlen) > st.Size()-8 {
		return nil, bad("header claims %d bytes but the file has only %d after the length field (truncated?)", hlen, st.Size()-8)
	}
	hj := make([]byte, hlen)
	if _, err := io.ReadFull(f, hj); err != nil {
		return nil, bad("reading header: %v", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hj, &raw); err != nil {
		return nil, bad("header is not valid JSON: %v", err)
	}
	if name, ok := duplicateKey(hj); ok {
		// encoding/json keeps the last of two entries of one name: which
		// tensor loads would depend on the order a tool wrote them in.
		return nil, bad("tensor %q is named twice in the header", name)
	}
	var meta map[string]string
	if m, ok := raw["__metadata__"]; ok {
		if err := json.Unmarshal(m, &meta); err != nil {
			return nil, bad("__metadata__ is not a map of strings: %v", err)
		}
		delete(raw, "__metadata__")
	}
	dataStart := int64(8 + hlen)
	dataLen := st.Size() - dataStart
	dtype, size := dtypeOf[T]()
	want := map[string]bool{}
	for _, t := range tensors {
		want[t.Name] = true
		r, ok := raw[t.Name]
		if !ok {
			return nil, bad("tensor %q is missing", t.Name)
		}
		var info tensorInfo
		if err := json.Unmarshal(r, &info); err != nil {
			return nil, bad("tensor %q: bad header entry: %v", t.Name, err)
		}
		if info.DType != dtype {
			return nil, bad("tensor %q has dtype %s, want %s", t.Name, info.DType, dtype)
		}
		if !slices.Equal(info.Shape, t.Shape) {
			return nil, bad("tensor %q has shape %v, want %v", t.Name, info.Shape, t.Shape)
		}
		begin, end := info.Offsets[0], info.Offsets[1]
		if begin < 0 || end < begin || end-begin != int64(len(t.Data)*size) {
			return nil, bad("tensor %q: data offsets [%d, %d] do not fit shape %v of %s", t.Name, begin, end, info.Shape, dtype)
		}
		if end > dataLen {
			return nil, bad("tensor %q ends at byte %d of the data but the file holds %d (truncated?)", t.Name, end, dataLen)
		}
		buf := make([]byte, end-begin)
		if _, err := f.ReadAt(buf, dataStart+begin); err != nil {
			return nil, bad("tensor %q: %v", t.Name, err)
		}
		for i := range t.Data {
			var v float64
			if size == 4 {
				v = float64(math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:])))
			} else {
				v = math.Float64frombits(binary.LittleEndian.Uint64(buf[8*i:]))
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				// A diverged or damaged model predicts nonsense silently.
				return nil, bad("tensor %q holds %v at index %d: the weights are damaged, or training diverged before they were saved", t.Name, v, i)
			}
			t.Data[i] = T(v)
		}
	}
	var extra []string
	for name := range raw {
		if !want[name] {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return nil, bad("unexpected tensors %s (model and checkpoint disagree)", strings.Join(extra, ", "))
	}
	return meta, nil
}
