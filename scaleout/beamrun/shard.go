package beamrun

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/seqkit/seqkit/pipeline"
)

// shardRef is the element each step handles: one shard of a split (or of a
// job's input), by index and file. The shards are listed once, when the
// pipeline is built, so that no worker lists a folder of shards again.
type shardRef struct {
	Split string `json:"split,omitempty"`
	Index int    `json:"index"`
	File  string `json:"file"`
}

// key names the shard as Job.FailShard does: "train/3", or "3" for an input.
func (r shardRef) key() string {
	if r.Split == "" {
		return strconv.Itoa(r.Index)
	}
	return r.Split + "/" + strconv.Itoa(r.Index)
}

// refs lists the shards of src (its one file when not sharded) as elements.
func refs(split string, src pipeline.Source) ([]any, error) {
	files, err := src.Inputs()
	if err != nil {
		return nil, err
	}
	out := make([]any, len(files))
	for i, f := range files {
		b, err := json.Marshal(shardRef{split, i, f})
		if err != nil {
			return nil, err
		}
		out[i] = string(b)
	}
	return out, nil
}

func decodeRef(elem string) (shardRef, error) {
	var r shardRef
	if err := json.Unmarshal([]byte(elem), &r); err != nil {
		return r, fmt.Errorf("scaleout: shard element %q: %w", elem, err)
	}
	return r, nil
}

// open reads the shard of src that r names.
func (r shardRef) open(src pipeline.Source, opts ...pipeline.Option) (*pipeline.Reader, error) {
	if src.Sharded() {
		opts = append(opts, pipeline.WithShard(r.Index, r.File))
	}
	return pipeline.Open(src, opts...)
}

// mergeJSON merges two JSON-encoded values of T with merge: the body of a
// combine over shards' counts or profiles.
func mergeJSON[T any](a, b []byte, empty func() T, merge func(*T, T)) ([]byte, error) {
	va, vb := empty(), empty()
	if err := json.Unmarshal(a, &va); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		return nil, err
	}
	merge(&va, vb)
	return json.Marshal(va)
}

// emitJSON emits v as JSON.
func emitJSON(emit func([]byte), v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	emit(b)
	return nil
}
