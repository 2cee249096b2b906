package pipeline

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ShardField is the int32 column that a sharded source's records carry after
// [RowField]: the index, in [Source.Shards] order, of the file the row came
// from. (shard, row) is the row's order key: whatever order shards are read in,
// by one process or by many workers, sorting by it gives the same rows in the
// same order.
const ShardField = "shard"

// MaxShards bounds the files one source may name: a glob over a whole disk is a
// mistake, not a dataset.
const MaxShards = 1 << 17

// Sharded reports whether the source names its data as shards (a list of paths,
// a glob or a folder) rather than as one file. A sharded source's records carry
// a [ShardField] column, however many files it matched.
func (s Source) Sharded() bool {
	if len(s.Paths) > 0 {
		return true
	}
	if s.Path == "" {
		return false
	}
	if hasMeta(s.Path) {
		return true
	}
	st, err := os.Stat(s.Path)
	return err == nil && st.IsDir()
}

// Shards expands the source into the files it names, in order: each entry of
// Paths (or Path) in turn, a glob's matches and a folder's files sorted by name.
// A folder's files are the regular files not starting with "." or "_" (the
// markers Hadoop and Spark leave beside their output). A glob or folder that
// names no file, a file named twice and more than [MaxShards] files are errors.
// An unsharded source gives its one path.
func (s Source) Shards() ([]string, error) {
	entries := s.Paths
	if len(entries) == 0 {
		entries = []string{s.Path}
	}
	var out []string
	seen := map[string]string{}
	for _, e := range entries {
		files, err := expand(e)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			key := filepath.Clean(f)
			if prev, ok := seen[key]; ok {
				return nil, fmt.Errorf("pipeline: %s is named twice (by %q and %q): each shard must be read once", f, prev, e)
			}
			seen[key] = e
			out = append(out, f)
			if len(out) > MaxShards {
				return nil, fmt.Errorf("pipeline: %s: more than %d files; name fewer, larger shards", e, MaxShards)
			}
		}
	}
	return out, nil
}

// DetectFormat is the source's format: the one it names, else the one its (first)
// file's extension implies; every shard must then imply the same.
func (s Source) DetectFormat() (Format, error) {
	if s.Format != "" {
		return s.Format, nil
	}
	if s.Path == "" && len(s.Paths) == 0 && s.Files != (Columns{}) {
		return Text, nil // parallel files are always line-aligned text
	}
	if !s.Sharded() {
		return FormatOf(s.Path)
	}
	shards, err := s.Shards()
	if err != nil {
		return "", err
	}
	return formatOf(shards)
}

// formatOf is the format the extensions of shards imply, one for all.
func formatOf(shards []string) (Format, error) {
	f, err := FormatOf(shards[0])
	if err != nil {
		return "", err
	}
	for _, p := range shards[1:] {
		if g, err := FormatOf(p); err != nil || g != f {
			return "", fmt.Errorf("pipeline: the shards %s and %s differ in format; name the format, or give shards of one format", shards[0], p)
		}
	}
	return f, nil
}

// Inputs lists the files to read one by one, each with [WithShard]: the
// shards of a sharded source, else its one file (Path).
func (s Source) Inputs() ([]string, error) {
	if s.Sharded() {
		return s.Shards()
	}
	return []string{s.Path}, nil
}

func hasMeta(p string) bool { return strings.ContainsAny(p, "*?[") }

// expand gives the files one path entry names.
func expand(p string) ([]string, error) {
	if p == "" {
		return nil, errors.New("pipeline: an empty path")
	}
	if hasMeta(p) {
		m, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("pipeline: %q is not a valid pattern: %w", p, err)
		}
		var files []string
		for _, f := range m {
			if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
				files = append(files, f)
			}
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("pipeline: %s matches no file", p)
		}
		slices.Sort(files)
		return files, nil
	}
	st, err := os.Stat(p)
	if err != nil || !st.IsDir() {
		return []string{p}, nil // opening it says what is wrong
	}
	// Read in chunks, so that a folder of millions of files is refused at
	// the bound instead of listed whole first.
	d, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	defer d.Close()
	var files []string
	for {
		ents, err := d.ReadDir(1024)
		for _, e := range ents {
			name := e.Name()
			if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				continue
			}
			if e.Type().IsRegular() || e.Type()&fs.ModeSymlink != 0 {
				if st, err := os.Stat(filepath.Join(p, name)); err == nil && st.Mode().IsRegular() {
					files = append(files, filepath.Join(p, name))
				}
			}
		}
		if len(files) > MaxShards {
			return nil, fmt.Errorf("pipeline: %s: more than %d files; name fewer, larger shards", p, MaxShards)
		}
		if err == io.EOF || len(ents) == 0 {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
	}
	slices.Sort(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("pipeline: the folder %s holds no data file", p)
	}
	return files, nil
}

// shardSource reads shards one after the other through the rowSource that
// open makes for each, numbering their rows by shard.
type shardSource struct {
	paths  []string
	base   int // the index of paths[0] among the source's shards
	open   func(path string) (rowSource, error)
	i      int // the shard cur reads
	cur    rowSource
	sizes  []int64
	before int64 // bytes of the shards already read
	total  int64
}

func newShardSource(paths []string, first rowSource, open func(string) (rowSource, error)) *shardSource {
	s := &shardSource{paths: paths, open: open, cur: first, sizes: make([]int64, len(paths))}
	for i, p := range paths {
		if st, err := os.Stat(p); err == nil {
			s.sizes[i] = st.Size()
			s.total += st.Size()
		}
	}
	return s
}

func (s *shardSource) next(ex *example) error {
	for {
		if s.cur == nil {
			rs, err := s.open(s.paths[s.i])
			if err != nil {
				return fatalf(err)
			}
			s.cur = rs
		}
		err := s.cur.next(ex)
		ex.shard = s.base + s.i
		if err != io.EOF {
			return err
		}
		s.cur.close()
		s.cur = nil
		s.before += s.sizes[s.i]
		s.i++
		if s.i == len(s.paths) {
			return err
		}
	}
}

func (s *shardSource) close() error {
	if s.cur == nil {
		return nil
	}
	err := s.cur.close()
	s.cur = nil
	return err
}

func (s *shardSource) progress() (done, total int64) {
	done = s.before
	if p, ok := s.cur.(interface{ progress() (int64, int64) }); ok {
		d, _ := p.progress()
		done += d
	}
	return done, s.total
}

// fatalf marks an error opening a later shard as one reading cannot go on
// past: a missing shard or a shard whose header lacks a column is not a bad
// example to skip.
func fatalf(err error) error {
	var e *Error
	if errors.As(err, &e) {
		e.fatal = true
	}
	return err
}

// orderKey packs a row's (shard, row) into one number for seeded splits: the
// row alone in the first shard, so an unsharded source splits as it always did.
func orderKey(shard, row int) int64 { return int64(shard)<<40 | int64(row) }
