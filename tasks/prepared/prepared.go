// Package prepared reads and writes a prepared dataset: a recipe's
// vocabularies and every split encoded as sharded Arrow IPC files, described
// by a manifest written last. It is a folder a user owns (seqkit data prepare
// -o DIR writes it, data.prepared: DIR trains from it) and the meeting point of
// one process and a distributed job: both write the same shard files through
// [EncodeShard], so the same data gives the same bytes either way.
package prepared

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/tasks/rundir"
)

// The layout of a prepared dataset folder.
const (
	// ManifestFile is written last: a folder without it is not a dataset,
	// however many shard files it holds.
	ManifestFile = "manifest.json"
	// DataFile is the recipe's data section the splits were prepared from
	// (sources, split, tokenizer and vocabulary settings), which a recipe
	// with data.prepared takes as its own.
	DataFile = "data.yaml"
	// VocabDir holds the vocabularies, as a run directory's vocab/.
	VocabDir = "vocab"
	// Version is the manifest's format.
	Version = 1
)

// Manifest describes a prepared dataset.
type Manifest struct {
	Version   int                      `json:"version"`
	Tokenizer pipeline.TokenizerConfig `json:"tokenizer"`
	// Vocabs are the hashes of the vocabularies in vocab/ (by file name).
	Vocabs map[string]string `json:"vocabs"`
	Splits map[string]*Split `json:"splits"`
}

// Split is one encoded split: its shards in order.
type Split struct {
	// Fingerprint identifies the source files and the encoding settings.
	Fingerprint string               `json:"fingerprint"`
	Schema      string               `json:"schema"`
	Rows        int64                `json:"rows"`
	Stats       pipeline.EncodeStats `json:"stats"`
	Skipped     int                  `json:"skipped,omitempty"`
	Shards      []Shard              `json:"shards"`
}

// Shard is one shard file of a split: the encoding of one input shard.
type Shard struct {
	File  string        `json:"file"`  // relative to the folder: train/part-00000.arrow
	Input string        `json:"input"` // the source file it encodes
	Rows  int64         `json:"rows"`
	Seal  pipeline.Seal `json:"seal"`
}

// NewSplit starts the manifest entry of a split of src encoded by enc: n
// shards, one per input file ([pipeline.Source.Inputs]), to be filled in with
// [Split.Set].
func NewSplit(src pipeline.Source, enc *pipeline.Encoder, n int) (*Split, error) {
	schema := enc.Schema()
	if src.Sharded() {
		schema = enc.ShardSchema()
	}
	fp, err := pipeline.Fingerprint(src, enc.Tokenizer.Config(), rundir.VocabSums(enc.Vocabs), enc.MaxTokens)
	if err != nil {
		return nil, err
	}
	return &Split{Fingerprint: fp, Schema: schema.String(), Shards: make([]Shard, n)}, nil
}

// Set records shard i as [EncodeShard] returned it.
func (sp *Split) Set(i int, sh Shard, st pipeline.EncodeStats, skipped int) {
	sp.Shards[i] = sh
	sp.Rows += sh.Rows
	sp.Stats.Add(st)
	sp.Skipped += skipped
}

// ShardFile is the file, relative to the folder, of shard i of a split.
func ShardFile(split string, i int) string {
	return filepath.Join(split, fmt.Sprintf("part-%05d.arrow", i))
}

var shardName = regexp.MustCompile(`^(train|dev|test)/part-[0-9]{5,6}\.arrow$`)

// maxManifest bounds the manifest read: MaxShards entries of three splits.
const maxManifest = 256 << 20

// EncodeShard reads input, shard i of src (its one file when src is not
// sharded; see [pipeline.Source.Inputs]), encodes it with enc and writes it to
// dir as [ShardFile] of split, atomically: the file appears whole or not at
// all, so a retried or repeated call writes the same bytes over it. It is the
// one step that one process and every worker of a distributed job run.
// It returns the shard, what encoding counted, and the bad examples skipped
// (with pipeline.WithSkipErrors). workers encode in parallel (0: GOMAXPROCS).
func EncodeShard(dir, split string, src pipeline.Source, i int, input string, enc *pipeline.Encoder, workers int, opts ...pipeline.Option) (Shard, pipeline.EncodeStats, int, error) {
	var st pipeline.EncodeStats
	if src.Sharded() {
		opts = append(opts, pipeline.WithShard(i, input))
	} else if i != 0 || input != src.Path {
		return Shard{}, st, 0, fmt.Errorf("prepared: shard %d (%s) of a source of one file, %s", i, input, src.Path)
	}
	r, err := pipeline.Open(src, opts...)
	if err != nil {
		return Shard{}, st, 0, err
	}
	defer r.Release()
	schema := enc.Schema()
	if src.Sharded() {
		schema = enc.ShardSchema()
	}
	file := ShardFile(split, i)
	seal, err := pipeline.WriteDataset(filepath.Join(dir, file), schema, func(emit func(arrow.RecordBatch) error) error {
		var err error
		st, err = enc.EncodeAll(r, workers, emit)
		return err
	})
	if err != nil {
		return Shard{}, st, 0, err
	}
	return Shard{File: filepath.ToSlash(file), Input: input, Rows: st.Rows, Seal: seal}, st, r.Skipped(), nil
}

// Begin readies dir for writing: the manifest of an earlier dataset there is
// removed first, so that from now until [Commit] the folder is not taken for
// a whole dataset, and what a killed preparation left half-written goes. A
// folder holding anything but a prepared dataset's files is refused: writing
// there would mix a dataset into someone's files.
func Begin(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !ours(e.Name()) {
			return fmt.Errorf("prepared: %s holds %s, which a prepared dataset does not: write the dataset to a new or empty folder", dir, e.Name())
		}
	}
	if err := os.Remove(filepath.Join(dir, ManifestFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return rundir.RemoveTemps(dir)
}

// ours reports whether name, in a dataset folder, is one a preparation writes.
func ours(name string) bool {
	switch name {
	case ManifestFile, DataFile, VocabDir, rundir.DataDir, "train", "dev", "test", "rejects":
		return true
	}
	return strings.Contains(name, ".tmp") || strings.HasPrefix(name, VocabDir+".") ||
		slices.Contains([]string{rundir.RejectsFile("train"), rundir.RejectsFile("dev"), rundir.RejectsFile("test")}, name)
}

// Commit writes the manifest, last, and removes shard files of an earlier
// dataset in dir that m does not list.
func Commit(dir string, m *Manifest) error {
	m.Version = Version
	keep := map[string]bool{}
	for _, sp := range m.Splits {
		for _, sh := range sp.Shards {
			keep[filepath.ToSlash(sh.File)] = true
		}
	}
	for _, split := range []string{"train", "dev", "test"} {
		old, _ := filepath.Glob(filepath.Join(dir, split, "part-*.arrow"))
		for _, p := range old {
			rel, _ := filepath.Rel(dir, p)
			if !keep[filepath.ToSlash(rel)] {
				os.Remove(p)
			}
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return pipeline.WriteFileAtomic(filepath.Join(dir, ManifestFile), append(b, '\n'))
}

// Open reads the manifest of the dataset in dir and checks that it lists
// only shard files of this layout.
func Open(dir string) (*Manifest, error) {
	b, err := pipeline.ReadFileLimited(filepath.Join(dir, ManifestFile), maxManifest)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("prepared: %s has no %s: not a prepared dataset, or one whose preparation did not finish (run seqkit data prepare -o %s again)", dir, ManifestFile, dir)
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("prepared: %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	if m.Version != Version {
		return nil, fmt.Errorf("prepared: %s: version %d, this seqkit reads version %d: prepare the data again", filepath.Join(dir, ManifestFile), m.Version, Version)
	}
	for name, sp := range m.Splits {
		if !slices.Contains([]string{"train", "dev", "test"}, name) || sp == nil || len(sp.Shards) == 0 || len(sp.Shards) > pipeline.MaxShards {
			return nil, fmt.Errorf("prepared: %s: split %q is not a split of train, dev or test with 1 to %d shards", filepath.Join(dir, ManifestFile), name, pipeline.MaxShards)
		}
		for _, sh := range sp.Shards {
			if !shardName.MatchString(filepath.ToSlash(sh.File)) || filepath.Dir(filepath.ToSlash(sh.File)) != name {
				return nil, fmt.Errorf("prepared: %s: %q is not a shard file of split %s", filepath.Join(dir, ManifestFile), sh.File, name)
			}
		}
	}
	return &m, nil
}

// Dataset maps split name of the dataset in dir, every shard checked against
// its seal; nil when the dataset has no such split.
func (m *Manifest) Dataset(dir, name string) (*pipeline.Dataset, error) {
	sp, ok := m.Splits[name]
	if !ok {
		return nil, nil
	}
	var paths []string
	var seals []pipeline.Seal
	for _, sh := range sp.Shards {
		paths = append(paths, filepath.Join(dir, sh.File))
		seals = append(seals, sh.Seal)
	}
	return pipeline.OpenDatasets(paths, seals)
}

// LoadVocabs reads the vocabularies of the dataset in dir and checks them against
// the manifest.
func (m *Manifest) LoadVocabs(dir string, lim pipeline.Limits) (pipeline.Vocabs, error) {
	v, err := rundir.LoadVocabs(filepath.Join(dir, VocabDir), lim)
	if err != nil {
		return v, err
	}
	got := rundir.VocabSums(v)
	for name, sum := range m.Vocabs {
		if got[name] != sum {
			return v, fmt.Errorf("prepared: %s: %s is not the vocabulary the data was encoded with", dir, filepath.Join(VocabDir, name))
		}
	}
	if len(got) != len(m.Vocabs) {
		return v, fmt.Errorf("prepared: %s: vocab/ holds other vocabularies than the manifest lists", dir)
	}
	return v, nil
}
