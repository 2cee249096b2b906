package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// Report says what preparing a dataset found. A dataset from the cache carries the
// report of the run that built it, with Cached set.
type Report struct {
	EncodeStats
	Seal    Seal // of the cached file
	Skipped int  // bad examples skipped (WithSkipErrors); their rejects were written by the building run
	Cached  bool // the dataset came from the cache
}

// Cache keeps encoded datasets in a folder, one Arrow IPC file per fingerprint
// (KEY.arrow) with its report beside it (KEY.json).
type Cache struct {
	Dir string
}

// fingerprintBlock is how much of the start and of the end of each source file
// goes into its fingerprint, besides its path, size and modification time.
const fingerprintBlock = 64 << 10

// Fingerprint identifies an encoded dataset: the source files (absolute path, size,
// modification time, and a SHA-256 of their first and last 64 KiB; for a
// generated split, Source.Content instead) and every
// setting that shapes the encoding (each value is hashed as JSON). Any change to a
// source or a setting changes the key.
func Fingerprint(src Source, settings ...any) (string, error) {
	h := sha256.New()
	content := src.Content
	if content != "" {
		src.Path = "" // where a generated split was written does not matter
	}
	if err := json.NewEncoder(h).Encode(src); err != nil {
		return "", fmt.Errorf("pipeline: fingerprint: %w", err)
	}
	paths := []string{src.Path}
	if src.Sharded() {
		shards, err := src.Shards()
		if err != nil {
			return "", err
		}
		paths = shards // every shard's name, size, time and ends
	}
	if content != "" {
		fmt.Fprintf(h, "content\x00%s\x00", content)
		paths = nil
	}
	for _, r := range src.Files.roles() {
		paths = append(paths, src.Files.get(r))
	}
	for _, p := range paths {
		if p == "" {
			continue
		}
		if err := hashFile(h, p); err != nil {
			return "", err
		}
	}
	for _, s := range settings {
		if err := json.NewEncoder(h).Encode(s); err != nil {
			return "", fmt.Errorf("pipeline: fingerprint: %w", err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

func hashFile(h hash.Hash, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00", abs, st.Size(), st.ModTime().UnixNano())
	if _, err := io.Copy(h, io.LimitReader(f, fingerprintBlock)); err != nil {
		return fmt.Errorf("pipeline: %s: %w", path, err)
	}
	if st.Size() > fingerprintBlock {
		if _, err := io.Copy(h, io.NewSectionReader(f, max(fingerprintBlock, st.Size()-fingerprintBlock), fingerprintBlock)); err != nil {
			return fmt.Errorf("pipeline: %s: %w", path, err)
		}
	}
	return nil
}

// settings is what of an Encoder shapes its output, for fingerprints.
func (e *Encoder) settings() any {
	vocab := func(v *Vocab) string {
		if v == nil {
			return ""
		}
		h := sha256.New()
		for _, t := range v.tokens {
			fmt.Fprintf(h, "%s\n", t)
		}
		return hex.EncodeToString(h.Sum(nil))
	}
	return struct {
		Tokenizer                   TokenizerConfig
		Input, Tags, Labels, Target string
		Schema                      string
		Chars                       string `json:",omitempty"`
		Feature                     string `json:",omitempty"`
		Vector                      int    `json:",omitempty"`
		// A dataset encoded under one token limit may hold examples that a
		// lower one refuses.
		MaxTokens int `json:",omitempty"`
	}{e.Tokenizer.cfg, vocab(e.Vocabs.Input), vocab(e.Vocabs.Tags), vocab(e.Vocabs.Labels), vocab(e.Vocabs.Target), e.Schema().String(),
		vocab(e.Vocabs.Chars), vocab(e.Vocabs.Feature), e.Vocabs.Vector, e.MaxTokens}
}

// Prepare returns src encoded by enc: memory-mapped from the cache when a dataset
// with the same fingerprint is there, otherwise read, encoded on workers goroutines
// and written to the cache first. A cached file that cannot be opened (corrupt,
// cut short by something other than seqkit) is rebuilt. The caller closes the
// dataset.
func (c Cache) Prepare(src Source, enc *Encoder, workers int, opts ...Option) (*Dataset, Report, error) {
	cfg := newConfig(opts)
	if enc.Tokenizer == nil {
		return nil, Report{}, fmt.Errorf("pipeline: the encoder has no tokenizer")
	}
	key, err := Fingerprint(src, enc.settings(), struct {
		BatchRows int
		Skip      bool
	}{cfg.batchRows, cfg.rejects != nil})
	if err != nil {
		return nil, Report{}, err
	}
	c.removeStale(time.Now().Add(-staleAfter))
	data := filepath.Join(c.Dir, key+".arrow")
	meta := filepath.Join(c.Dir, key+".json")
	if rep, err := readReport(meta); err == nil {
		if d, err := OpenDataset(data, rep.Seal); err == nil {
			rep.Cached = true
			return d, rep, nil
		}
	}
	r, err := Open(src, opts...)
	if err != nil {
		return nil, Report{}, err
	}
	defer r.Release()
	var rep Report
	rep.Seal, err = WriteDataset(data, enc.schema(src.Sharded()), func(emit func(arrow.RecordBatch) error) error {
		st, err := enc.EncodeAll(r, workers, emit)
		rep.EncodeStats = st
		return withPath(err, src.Path)
	})
	if err != nil {
		return nil, Report{}, err
	}
	rep.Skipped = r.Skipped()
	js, err := json.Marshal(rep)
	if err != nil {
		return nil, Report{}, fmt.Errorf("pipeline: %w", err)
	}
	if err := WriteFileAtomic(meta, js); err != nil {
		return nil, Report{}, err
	}
	d, err := OpenDataset(data, rep.Seal)
	return d, rep, err
}

func readReport(path string) (Report, error) {
	var rep Report
	b, err := os.ReadFile(path)
	if err != nil {
		return rep, err
	}
	return rep, json.Unmarshal(b, &rep)
}

// staleAfter is the age after which a temporary file in the cache is taken for
// the leftover of a killed process: no cache build takes a day, and a younger
// one may be another process's build in progress.
const staleAfter = 24 * time.Hour

// removeStale deletes temporary files of the cache older than before. They are
// never read (a dataset appears only by rename when complete); this only gives
// their space back.
func (c Cache) removeStale(before time.Time) {
	tmps, _ := filepath.Glob(filepath.Join(c.Dir, ".*.tmp*"))
	for _, p := range tmps {
		if st, err := os.Stat(p); err == nil && st.ModTime().Before(before) {
			os.Remove(p)
		}
	}
}
