package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// DefaultBatchRows is the number of examples per record batch unless
// [WithBatchRows] says otherwise.
const DefaultBatchRows = 1024

// Option configures [Open].
type Option func(*config)

type config struct {
	mem       memory.Allocator
	batchRows int
	rejects   func(shard int, bad *Error) error
	progress  func(done, total int64)
	maxLine   int
	maxTokens int
	ctx       context.Context
	shard     int    // with onlyShard, the index of the one shard to read
	shardFile string // and its file
	onlyShard bool
	serial    bool // no parallel read (chunks.go): tests compare the two
}

// WithAllocator makes the reader allocate Arrow memory from mem (tests pass a
// memory.CheckedAllocator to find leaks). The batches a parallel read's
// workers build are Go memory, which the garbage collector frees.
func WithAllocator(mem memory.Allocator) Option { return func(c *config) { c.mem = mem } }

// WithBatchRows sets the number of examples per record batch, which with the length
// of the examples bounds the memory a reader holds at once.
func WithBatchRows(n int) Option { return func(c *config) { c.batchRows = n } }

// WithSkipErrors makes the reader skip bad examples instead of failing: each is
// written to rejects as one line "position<TAB>reason" and counted ([Reader.Skipped]).
// Problems that make the rest of the file unreadable still fail.
func WithSkipErrors(rejects io.Writer) Option {
	return WithRejects(func(_ int, bad *Error) error {
		_, err := fmt.Fprintf(rejects, "%s\t%s\n", bad.Position(), bad.Err)
		return err
	})
}

// IgnoreRejects, given to [WithRejects], skips bad examples without a
// record: for a pass whose rejects another pass writes (counting a
// vocabulary before encoding).
func IgnoreRejects(int, *Error) error { return nil }

// WithRejects skips bad examples as [WithSkipErrors] does, handing each to
// reject with the index of its shard (0 for a source of one file): for a
// caller that keeps rejects as records, such as a distributed job's
// rejects output of (shard, row, reason).
func WithRejects(reject func(shard int, bad *Error) error) Option {
	return func(c *config) { c.rejects = reject }
}

func newConfig(opts []Option) config {
	cfg := config{mem: memory.DefaultAllocator, batchRows: DefaultBatchRows, maxLine: DefaultMaxLineBytes, maxTokens: DefaultMaxTokens}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// WithContext stops reading, with ctx's cause as the error, once ctx is done
// (a Ctrl-C): checked before every record batch.
func WithContext(ctx context.Context) Option { return func(c *config) { c.ctx = ctx } }

// WithShard makes the reader of a sharded source read only file, its shard i
// in [Source.Shards] order, its rows numbered as when the whole source is
// read: what one worker of a distributed job reads. The caller lists the
// shards once and hands each reader its file, so that reading every shard of
// a source lists its folder once, not once a shard. An empty shard is no
// error; it reads no rows.
func WithShard(i int, file string) Option {
	return func(c *config) { c.shard, c.shardFile, c.onlyShard = i, file, true }
}

// WithLimits applies a recipe's data.limits to reading: the longest line and,
// for CoNLL, whose sentences gather many lines, the most tokens of one
// example (refused as they are read, not after the sentence is whole).
func WithLimits(l Limits) Option {
	return func(c *config) { c.maxLine, c.maxTokens = l.LineBytes(), l.Tokens() }
}

// WithMaxLineBytes bounds the length of one line of a text-based source; a longer
// line is a bad example (skipped with [WithSkipErrors]).
func WithMaxLineBytes(n int) Option { return func(c *config) { c.maxLine = n } }

// WithProgress makes the reader call report after every record batch with the
// bytes of the source read so far and the file size (for parallel text files, of
// the first file). Parquet and Arrow sources report nothing. The CLI draws a
// progress bar from it when stderr is a terminal.
func WithProgress(report func(done, total int64)) Option {
	return func(c *config) { c.progress = report }
}

// example is one parsed row before it goes into the Arrow builders.
type example struct {
	shard int
	line  int
	str   [numRoles]string
	list  [numRoles][]string
	// raw, where set, is a str role's text as bytes of the source's line
	// buffer, valid until its next call to next: the reader copies it into
	// its builder before then, so the text is never a string of its own.
	// The source has checked that it is UTF-8.
	raw [numRoles][]byte
	// valid says the source has checked that every field is UTF-8 (a CoNLL
	// line is checked whole, and fields cut from it at ASCII separators stay
	// valid), so the reader does not check each again.
	valid bool
}

// rowSource is what each format implements. next fills ex with the next example and
// returns io.EOF at the end, an *Error for a bad example after which reading can go
// on, or any other error when it cannot.
type rowSource interface {
	next(ex *example) error
	close() error
}

// Reader reads a [Source] as Arrow record batches of the schema [Schema] gives for
// the mapped roles. It implements array.RecordReader: the batch returned by
// [Reader.RecordBatch] is valid until the next call to [Reader.Next]; call Retain on
// it to keep it longer. Release the Reader when done; that closes the file.
type Reader struct {
	path       string
	sharded    bool
	mayBeEmpty bool // one shard of many
	src        rowSource
	roles      []Role
	schema     *arrow.Schema
	bld        *array.RecordBuilder
	rows       int
	cur        arrow.RecordBatch
	part       *Part
	err        error
	done       bool
	read       int
	rejects    func(int, *Error) error
	skipped    int
	refs       atomic.Int64

	progress func(done, total int64)
	ctx      context.Context
	mem      memory.Allocator
	par      *parallel           // a parallel read under way (chunks.go)
	pend     []arrow.RecordBatch // its rows not yet in a batch
	pendRows int
	parErr   error // its error, once the batches before it are given
	serial   bool  // no parallel read: asked for, or the framer gave up
}

var _ array.RecordReader = (*Reader)(nil)

// Path is the file the reader reads (the first of parallel files), or the
// path, glob or folder of a sharded source.
func (r *Reader) Path() string { return r.path }

// Open starts reading src. The format comes from src.Format or, when empty, from the
// file extension. A column mapping that names a field the file does not have is an
// error here, before any example is read.
func Open(src Source, opts ...Option) (*Reader, error) {
	cfg := newConfig(opts)
	if cfg.batchRows <= 0 {
		return nil, fmt.Errorf("pipeline: batch rows must be positive, got %d", cfg.batchRows)
	}
	sharded := src.Sharded()
	path := src.Path
	var (
		shards []string
		format = src.Format
		err    error
	)
	switch {
	case sharded && (src.Files != (Columns{})):
		return nil, fmt.Errorf("pipeline: parallel files (files) are single files; a sharded source takes path or paths")
	case sharded && src.Path != "" && len(src.Paths) > 0:
		return nil, fmt.Errorf("pipeline: a source takes either path or paths, not both")
	case cfg.onlyShard && !sharded:
		return nil, fmt.Errorf("pipeline: %s: a shard of a source that is not sharded", src.Path)
	case cfg.onlyShard:
		// The caller listed the shards: reading one lists none again.
		if path = cfg.shardFile; format == "" {
			format, err = FormatOf(path)
		}
	case sharded:
		if shards, err = src.Shards(); err == nil {
			path = shards[0]
			if format == "" {
				format, err = formatOf(shards)
			}
		}
	default:
		if path == "" {
			path = firstFile(src.Files)
		}
		format, err = src.DetectFormat()
	}
	if err != nil {
		return nil, err
	}
	if src.Stream && format != Text {
		return nil, fmt.Errorf("pipeline: %s: stream applies to the text format only", path)
	}
	cols, err := mapping(src, format, path)
	if err != nil {
		return nil, err
	}
	open := func(p string) (rowSource, error) { return openOne(p, src, format, cols, cfg) }
	rs, err := open(path)
	if err != nil {
		return nil, err
	}
	name := path
	if cfg.onlyShard {
		ss := newShardSource([]string{path}, rs, open)
		ss.base = cfg.shard
		rs = ss
	} else if sharded {
		rs = newShardSource(shards, rs, open)
		name = src.Path
		if name == "" {
			name = strings.Join(src.Paths, ",")
		}
	}
	roles := cols.roles()
	if len(roles) == 0 {
		rs.close()
		return nil, fmt.Errorf("pipeline: %s: the column mapping names no column (text, tokens, tags, label, target, feature or vector)", path)
	}
	r := &Reader{path: name, src: rs, roles: roles, schema: schema(roles, sharded), sharded: sharded, mayBeEmpty: cfg.onlyShard, rows: cfg.batchRows, rejects: cfg.rejects, progress: cfg.progress, part: src.Part, ctx: cfg.ctx, mem: cfg.mem, serial: cfg.serial}
	r.bld = array.NewRecordBuilder(cfg.mem, r.schema)
	r.refs.Store(1)
	return r, nil
}

// mapping is the column mapping a format reads: the source's, or the one the
// format implies.
func mapping(src Source, format Format, path string) (Columns, error) {
	cols := src.Columns
	switch format {
	case CoNLL:
		if cols == (Columns{}) {
			cols = Columns{Tokens: "1", Tags: "-1"}
		}
	case Text:
		if src.Columns != (Columns{}) {
			return cols, fmt.Errorf("pipeline: %s: a text source is one example per line, so columns do not apply; name parallel files with files, or set the format (csv, tsv, jsonl)", path)
		}
		if src.Files != (Columns{}) && src.Path != "" {
			return cols, fmt.Errorf("pipeline: a text source takes either path or files, not both")
		}
		files := src.Files
		if files == (Columns{}) {
			files = Columns{Text: "line"}
		}
		cols = Columns{}
		for _, r := range files.roles() {
			cols = cols.with(r, "line")
		}
		if src.Stream && (len(files.roles()) != 1 || files.Text == "") {
			return cols, fmt.Errorf("pipeline: a stream source is one text file (path), not parallel files")
		}
	case Dict:
		cols = Columns{Text: "word", Target: "pronunciation"}
	}
	return cols, nil
}

// openOne opens one file of src (one shard) in format with the mapping cols.
func openOne(path string, src Source, format Format, cols Columns, cfg config) (rowSource, error) {
	switch format {
	case CSV, TSV:
		return openCSV(path, format, cols, src.NoHeader, cfg.maxLine)
	case JSONL:
		return openJSONL(path, cols, cfg.maxLine)
	case CoNLL:
		return openCoNLL(path, cols, cfg.maxLine, cfg.maxTokens)
	case Text:
		if src.Stream {
			return openStream(path, cfg.maxLine)
		}
		files := src.Files
		if files == (Columns{}) {
			files = Columns{Text: path}
		}
		return openText(files, cfg.maxLine)
	case Dict:
		return openDict(path, cfg.maxLine)
	case Parquet, ArrowFile, ArrowStream:
		if _, ext := trimCompression(path); ext != "" {
			return nil, fmt.Errorf("pipeline: %s: %s files are read uncompressed (Parquet and Arrow compress their own buffers)", path, format)
		}
		return openArrow(path, format, cols, cfg.mem)
	}
	return nil, fmt.Errorf("pipeline: unknown format %q", format)
}

func (c Columns) with(r Role, v string) Columns {
	switch r {
	case RoleText:
		c.Text = v
	case RoleTokens:
		c.Tokens = v
	case RoleTags:
		c.Tags = v
	case RoleLabel:
		c.Label = v
	case RoleTarget:
		c.Target = v
	case RoleFeature:
		c.Feature = v
	case RoleVector:
		c.Vector = v
	}
	return c
}

func firstFile(c Columns) string {
	for _, r := range c.roles() {
		return c.get(r)
	}
	return ""
}

// Schema implements array.RecordReader.
func (r *Reader) Schema() *arrow.Schema { return r.schema }

// Roles returns the roles the records hold, in column order after the row column.
func (r *Reader) Roles() []Role { return r.roles }

// Skipped is the number of bad examples skipped so far (with [WithSkipErrors]).
func (r *Reader) Skipped() int { return r.skipped }

// Next reads the next record batch. It returns false at the end or on an error,
// which [Reader.Err] then reports.
func (r *Reader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.done || r.err != nil {
		return false
	}
	if r.ctx != nil && r.ctx.Err() != nil {
		r.stopParallel()
		r.err = context.Cause(r.ctx)
		return false
	}
	if r.par != nil {
		if r.nextParallel() {
			r.report()
			return true
		}
		if r.err != nil || r.done {
			return r.noExamples()
		}
		// The framer gave up: the serial reader goes on where it stopped,
		// after the rows pending.
	}
	var ex example
	n := 0
	for n < r.rows-r.pendRows {
		ex = example{}
		err := r.src.next(&ex)
		if err == nil {
			err = r.check(&ex)
		}
		if err == io.EOF {
			r.done = true
			break
		}
		if err != nil {
			// Declared here: its address escapes into errors.As, and
			// declared for every row it cost an allocation per row.
			var bad *Error
			if errors.As(err, &bad) && !bad.fatal && r.rejects != nil {
				r.skipped++
				if werr := r.rejects(ex.shard, bad); werr != nil {
					r.err = fmt.Errorf("pipeline: writing rejects: %w", werr)
					return false
				}
				continue
			}
			r.err = err
			return false
		}
		if r.part != nil && r.part.Split.Part(orderKey(ex.shard, ex.line)) != r.part.Index {
			continue
		}
		r.append(&ex)
		n++
	}
	if n == 0 && r.pendRows == 0 {
		return r.noExamples()
	}
	if n > 0 {
		r.cur = r.bld.NewRecordBatch()
		reserve(r.bld, r.cur)
		r.read += n
	}
	if r.pendRows > 0 {
		// After a handoff: the rows the workers left come first.
		if r.cur != nil {
			r.pend, r.pendRows, r.read = append(r.pend, r.cur), r.pendRows+n, r.read-n
			r.cur = nil
		}
		r.takePending(r.pendRows)
	}
	r.report()
	if cs, ok := r.src.(chunkSource); ok && !r.done && r.par == nil && !r.serial && cs.framer() != nil {
		// After the first batch, the rest of the file is read in
		// parallel. The source stands between two examples, and has
		// learnt what its copies need (a header, the number of columns).
		r.startParallel(cs, parallelWorkers())
	}
	return true
}

// noExamples is Next's false at the end or on an error, and the error of a
// file that had no example.
func (r *Reader) noExamples() bool {
	if r.err == nil && r.done && r.read == 0 && !r.mayBeEmpty {
		r.err = &Error{Path: r.path, Err: errors.New("no examples: the file is empty or every example was rejected")}
	}
	return false
}

// report reports the progress after a batch.
func (r *Reader) report() {
	if p, ok := r.src.(interface{ progress() (int64, int64) }); ok && r.progress != nil {
		r.progress(p.progress())
	}
}

// check applies the rules every format shares: valid UTF-8, one tag per token.
func (r *Reader) check(ex *example) error {
	for _, role := range r.roles {
		if ex.valid {
			break // the source checked every field
		}
		if role.isList() {
			for i, s := range ex.list[role] {
				if !utf8.ValidString(s) {
					return badf(r.path, ex.line, 0, "invalid UTF-8 in %s item %d", role, i+1)
				}
			}
		} else if ex.raw[role] == nil && !utf8.ValidString(ex.str[role]) {
			return badf(r.path, ex.line, 0, "invalid UTF-8 in %s", role)
		}
	}
	if r.has(RoleLabel) && strings.TrimSpace(ex.str[RoleLabel]) == "" && len(bytes.TrimSpace(ex.raw[RoleLabel])) == 0 {
		// An empty label would become a class of its own; skip_errors leaves
		// such examples out, counted.
		return badf(r.path, ex.line, 0, "empty label")
	}
	if nt, ng := len(ex.list[RoleTokens]), len(ex.list[RoleTags]); r.has(RoleTokens) && r.has(RoleTags) && nt != ng {
		return badf(r.path, ex.line, 0, "%d tokens but %d tags", nt, ng)
	}
	if nt, nf := len(ex.list[RoleTokens]), len(ex.list[RoleFeature]); r.has(RoleFeature) && (!r.has(RoleTokens) || nt != nf) {
		return badf(r.path, ex.line, 0, "%d tokens but %d feature values (a feature column needs a tokens column of the same length)", nt, nf)
	}
	return nil
}

func (r *Reader) has(role Role) bool {
	for _, x := range r.roles {
		if x == role {
			return true
		}
	}
	return false
}

// append appends ex to the batch being built.
func (r *Reader) append(ex *example) {
	r.bld.Field(0).(*array.Int64Builder).Append(int64(ex.line))
	first := 1
	if r.sharded {
		r.bld.Field(1).(*array.Int32Builder).Append(int32(ex.shard))
		first = 2
	}
	for i, role := range r.roles {
		f := r.bld.Field(i + first)
		if !role.isList() {
			if b := ex.raw[role]; b != nil {
				f.(*array.StringBuilder).BinaryBuilder.Append(b)
			} else {
				f.(*array.StringBuilder).Append(ex.str[role])
			}
			continue
		}
		lb := f.(*array.ListBuilder)
		lb.Append(true)
		vb := lb.ValueBuilder().(*array.StringBuilder)
		for _, s := range ex.list[role] {
			vb.Append(s)
		}
	}
}

// reserve sizes a builder's fields, emptied by NewRecordBatch, for a batch like
// rec: grown from nothing, every batch's buffers were reallocated, zeroed and
// copied at each doubling (the CoNLL cold pass gained 15–30% without that).
func reserve(bld *array.RecordBuilder, rec arrow.RecordBatch) {
	for i, f := range bld.Fields() {
		reserveLike(f, rec.Column(i))
	}
}

// reserveLike sizes b for as many values as a has, lists and strings
// included.
func reserveLike(b array.Builder, a arrow.Array) {
	b.Reserve(a.Len())
	switch b := b.(type) {
	case *array.StringBuilder:
		b.ReserveData(len(a.(*array.String).ValueBytes()))
	case *array.ListBuilder:
		reserveLike(b.ValueBuilder(), a.(*array.List).ListValues())
	}
}

// RecordBatch returns the current batch; see [Reader].
func (r *Reader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is the deprecated name of [Reader.RecordBatch].
func (r *Reader) Record() arrow.RecordBatch { return r.cur }

// Err returns the error that stopped [Reader.Next], if any.
func (r *Reader) Err() error { return r.err }

// Retain adds a reference.
func (r *Reader) Retain() { r.refs.Add(1) }

// Release drops a reference; the last one frees the current batch and the builders
// and closes the file.
func (r *Reader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	r.stopParallel()
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	r.dropPending()
	r.bld.Release()
	r.src.close()
}

// openFile opens path with an error that says what to do when it is missing.
func openFile(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	return f, nil
}
