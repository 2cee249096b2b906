package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// A parallel read. Parsing a line-based file on one goroutine bounds a whole
// run's data preparation by one core, so after its first record batch a
// Reader of JSON Lines, CSV, TSV, CoNLL, one text file or a pronunciation
// dictionary hands the rest of the file to a
// framer: one goroutine that only finds where examples end (a line end, a
// CSV quote, a blank line) and cuts the text into chunks of exactly the
// batch's number of examples, which workers parse into record batches with
// copies of the source. The batches come out in the file's order, with the
// rows, line numbers and errors the serial reader gives, and the same batch
// boundaries. What the framer cannot frame cheaply (a line over the bound, a
// CSV quote that is not RFC 4180, a chunk over chunkCap) goes back to the
// serial reader from the start of its chunk, which reads the rest of the
// file as before: it words the errors, skips over long lines and bounds
// what it gathers. (Each of those is an error but for batches of over
// chunkCap, which cutting again would read twice.) Bad examples skipped
// (WithRejects) and rows of another part of a split leave a chunk's batch
// short: the reader then cuts batches again from the rows pending, so that
// they end where the serial reader's do, and hands the rejects to their
// callback in the file's order.

// chunkCap bounds a chunk's text: the framer hands a longer one to the
// serial reader rather than hold it.
const chunkCap = 16 << 20

// chunkSource is a source a parallel read can cut into chunks.
type chunkSource interface {
	rowSource
	// lineReader is the source's lines, which the framer goes on reading
	// from where the source stands (between two examples).
	lineReader() *lines
	// framer returns a new framer of the source's format, or nil if this
	// source cannot be cut (parallel text files).
	framer() framer
	// over returns a copy of the source that reads the lines of a chunk,
	// with what the source learnt of the file (header, columns).
	over(l *lines) rowSource
}

// framer follows a format's examples over lines.
type framer interface {
	// line takes the next line (without its line end) and reports whether
	// an example ends with it, or ok false when it cannot tell cheaply.
	line(b []byte) (ends, ok bool)
	// eof reports whether the end of the text ends an example, or ok
	// false when the text ends inside one in a way only the serial reader
	// can word.
	eof() (ends, ok bool)
}

// chunk is a piece of the text holding whole examples, and the number of
// lines before it.
type chunk struct {
	text []byte
	base int
	arr  *textArray // the array text is in; nil for a chunk handed back
}

// textArray is an array the framer reads the file into, cut into chunks. It
// goes back to the framer (free) when the framer has moved on from it and
// every chunk cut from it has been parsed: the parsed batches hold copies,
// so the array can take more of the file. A new array for every megabyte
// was a third of the garbage of a read, and its clearing and returning to
// the system were a tenth of the time.
type textArray struct {
	b    []byte
	refs atomic.Int32
}

// release drops a reference to a; the last sends it to free if free has
// room.
func (a *textArray) release(free chan []byte) {
	if a.refs.Add(-1) == 0 {
		select {
		case free <- a.b[:0]:
		default:
		}
	}
}

// chunkResult is a chunk parsed: a record batch, or an error; handoff says
// that the framer stopped at this point and the serial reader goes on.
type chunkResult struct {
	rec      arrow.RecordBatch
	rows     int
	rejected []rejection // bad examples skipped, in order (WithRejects)
	err      error
	handoff  bool
}

// rejection is a bad example a worker skipped, for the reader to hand to
// its rejects callback in the file's order.
type rejection struct {
	shard int
	bad   *Error
}

// parallel is the machinery of a parallel read: the framer, the workers and
// the results in the order of their chunks.
type parallel struct {
	order chan chan chunkResult
	stop  chan struct{}
	wg    sync.WaitGroup
	free  chan []byte // text arrays to read into again
}

// startParallel starts reading the rest of src in chunks of r.rows
// examples on workers goroutines.
func (r *Reader) startParallel(src chunkSource, workers int) {
	p := &parallel{order: make(chan chan chunkResult, 2*workers), stop: make(chan struct{}), free: make(chan []byte, 4)}
	type job struct {
		c    chunk
		done chan chunkResult
	}
	jobs := make(chan job)
	for range workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			var last *batchBuf // the last chunk's batch, whose sizes the next reserves
			for j := range jobs {
				var res chunkResult
				res, last = r.parseChunk(src, j.c, last)
				j.c.arr.release(p.free)
				j.done <- res
			}
		}()
	}
	l := src.lineReader()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(p.order)
		defer close(jobs)
		send := func(res chunkResult) {
			done := make(chan chunkResult, 1)
			done <- res
			select {
			case p.order <- done:
			case <-p.stop:
			}
		}
		fr := frameChunks{l: l, f: src.framer(), want: r.rows, ctx: r.ctx, free: p.free}
		for {
			c, end, err := fr.next()
			if err != nil {
				send(chunkResult{err: err})
				return
			}
			if end != nil {
				// Hand the rest, from the start of the chunk, back to the
				// source's own lines: l.br and l.n as if it had read up to
				// here itself. The array stays with the serial reader and
				// never goes back to free.
				l.br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(end.text), l.br), 1<<16)
				l.n = end.base
				send(chunkResult{handoff: true})
				return
			}
			if c.text == nil {
				if fr.arr != nil {
					fr.arr.release(p.free)
				}
				return // the end of the file
			}
			done := make(chan chunkResult, 1)
			select {
			case p.order <- done:
			case <-p.stop:
				return
			}
			select {
			case jobs <- job{c, done}:
			case <-p.stop:
				return
			}
		}
	}()
	r.par = p
}

// parseChunk reads a chunk's examples into a record batch with a copy of
// src, as the serial reader would. last, if not nil, is the batch of the
// worker's last chunk, whose sizes the new one reserves.
func (r *Reader) parseChunk(src chunkSource, c chunk, last *batchBuf) (chunkResult, *batchBuf) {
	s := src.over(chunkLines(r.path, src.lineReader().max, c.text, c.base))
	b := newBatchBuf(len(r.roles), last)
	var ex example // one for the chunk: its address escapes into next
	var rejected []rejection
	for {
		ex = example{}
		err := s.next(&ex)
		if err == nil {
			err = r.check(&ex)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			var bad *Error
			if errors.As(err, &bad) && !bad.fatal && r.rejects != nil {
				rejected = append(rejected, rejection{ex.shard, bad})
				continue
			}
			// The rows before the error still fill the batches the
			// serial reader would give before it.
			return chunkResult{rec: b.record(r.schema, r.roles, r.sharded), rows: len(b.rows), rejected: rejected, err: err}, last
		}
		if r.part != nil && r.part.Split.Part(orderKey(ex.shard, ex.line)) != r.part.Index {
			continue
		}
		b.add(r, &ex)
	}
	return chunkResult{rec: b.record(r.schema, r.roles, r.sharded), rows: len(b.rows), rejected: rejected}, b
}

// batchBuf gathers a chunk's examples as the columns of a record batch, in
// Go slices that become the batch's buffers: an Arrow builder checks its
// capacity and sets a validity bit for every value, a quarter of the time
// of reading a CoNLL file, where here a token is its bytes appended and an
// offset. Buffers of Go memory need no allocator: the garbage collector
// frees them.
type batchBuf struct {
	rows   []int64
	shards []int32
	cols   []colBuf // one per role
}

// colBuf is a string or list-of-strings column.
type colBuf struct {
	lists []int32 // a list column's offsets into strs: n+1
	strs  []int32 // the strings' offsets into data: one more than strings
	data  []byte
}

func newBatchBuf(roles int, last *batchBuf) *batchBuf {
	b := &batchBuf{cols: make([]colBuf, roles)}
	if last == nil {
		last = &batchBuf{cols: make([]colBuf, roles)}
	}
	b.rows = make([]int64, 0, cap(last.rows))
	b.shards = make([]int32, 0, cap(last.shards))
	for i := range b.cols {
		l := &last.cols[i]
		b.cols[i] = colBuf{
			lists: append(make([]int32, 0, max(len(l.lists), 1)), 0),
			strs:  append(make([]int32, 0, max(len(l.strs), 1)), 0),
			data:  make([]byte, 0, len(l.data)),
		}
	}
	return b
}

// add is Reader.append into b.
func (b *batchBuf) add(r *Reader, ex *example) {
	b.rows = append(b.rows, int64(ex.line))
	if r.sharded {
		b.shards = append(b.shards, int32(ex.shard))
	}
	for i, role := range r.roles {
		c := &b.cols[i]
		if !role.isList() {
			if raw := ex.raw[role]; raw != nil {
				c.data = append(c.data, raw...)
			} else {
				c.data = append(c.data, ex.str[role]...)
			}
			c.strs = append(c.strs, int32(len(c.data)))
			continue
		}
		for _, t := range ex.list[role] {
			c.data = append(c.data, t...)
			c.strs = append(c.strs, int32(len(c.data)))
		}
		c.lists = append(c.lists, int32(len(c.strs)-1))
	}
}

// record makes b a record batch of schema, whose columns are the row, the
// shard if sharded, and the roles.
func (b *batchBuf) record(schema *arrow.Schema, roles []Role, sharded bool) arrow.RecordBatch {
	n := len(b.rows)
	var cols []arrow.Array
	cols = append(cols, array.NewInt64Data(array.NewData(arrow.PrimitiveTypes.Int64, n,
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(b.rows))}, nil, 0, 0)))
	if sharded {
		cols = append(cols, array.NewInt32Data(array.NewData(arrow.PrimitiveTypes.Int32, n,
			[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(b.shards))}, nil, 0, 0)))
	}
	for i, role := range roles {
		c := &b.cols[i]
		if c.data == nil {
			c.data = []byte{}
		}
		strs := array.NewData(arrow.BinaryTypes.String, len(c.strs)-1,
			[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(c.strs)), memory.NewBufferBytes(c.data)}, nil, 0, 0)
		data := strs
		if role.isList() {
			data = array.NewData(schema.Field(len(cols)).Type, n,
				[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(c.lists))}, []arrow.ArrayData{strs}, 0, 0)
			strs.Release()
		}
		cols = append(cols, array.MakeFromData(data))
		data.Release()
	}
	rec := array.NewRecordBatch(schema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// nextParallel is Next's step in a parallel read. It reports false when
// there is no batch from the workers: at the end, on an error, or at a
// handoff, after which r.par is nil and the serial reader goes on (with
// the rows pending, which it takes first).
//
// A chunk holds a batch's examples, so its batch is the serial reader's
// unless examples were rejected or left to another part of a split; then
// batches are cut again from the rows pending, to the serial reader's
// boundaries.
func (r *Reader) nextParallel() bool {
	for {
		if r.pendRows >= r.rows {
			r.takePending(r.rows)
			return true
		}
		if r.parErr != nil {
			// The rows short of a batch before the error are dropped, as
			// the serial reader drops them.
			r.err, r.parErr = r.parErr, nil
			r.dropPending()
			r.stopParallel()
			return false
		}
		done, ok := <-r.par.order
		if !ok {
			r.stopParallel()
			r.done = true
			if r.pendRows > 0 {
				r.takePending(r.pendRows)
				return true
			}
			return false
		}
		res := <-done
		for _, rj := range res.rejected {
			r.skipped++
			if err := r.rejects(rj.shard, rj.bad); err != nil {
				res.err = fmt.Errorf("pipeline: writing rejects: %w", err)
				break
			}
		}
		switch {
		case res.handoff:
			r.stopParallel()
			r.serial = true
			return false
		case res.rows == 0: // blank lines, or only rejected or other parts' rows
			if res.rec != nil {
				res.rec.Release()
			}
			r.parErr = res.err
			continue
		case r.pendRows == 0 && res.rows == r.rows && res.err == nil:
			r.cur = res.rec
			r.read += res.rows
			return true
		}
		r.pend = append(r.pend, res.rec)
		r.pendRows += res.rows
		r.parErr = res.err
	}
}

// dropPending releases the rows pending.
func (r *Reader) dropPending() {
	for _, rec := range r.pend {
		rec.Release()
	}
	r.pend, r.pendRows = nil, 0
}

// takePending makes the first n pending rows the current batch.
func (r *Reader) takePending(n int) {
	var parts []arrow.RecordBatch
	for left := n; left > 0; {
		rec := r.pend[0]
		k := int(rec.NumRows())
		if k > left {
			parts = append(parts, rec.NewSlice(0, int64(left)))
			r.pend[0] = rec.NewSlice(int64(left), int64(k))
			rec.Release()
			break
		}
		parts = append(parts, rec)
		r.pend = r.pend[1:]
		left -= k
	}
	cols := make([]arrow.Array, len(parts[0].Columns()))
	for i := range cols {
		arrs := make([]arrow.Array, len(parts))
		for j, p := range parts {
			arrs[j] = p.Column(i)
		}
		var err error
		if cols[i], err = array.Concatenate(arrs, r.mem); err != nil {
			panic(err) // the parts share a schema
		}
	}
	r.cur = array.NewRecordBatch(r.schema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	for _, p := range parts {
		p.Release()
	}
	r.pendRows -= n
	r.read += n
}

// stopParallel stops the framer and the workers, waits for them, and
// releases the batches no one will read.
func (r *Reader) stopParallel() {
	p := r.par
	if p == nil {
		return
	}
	r.par = nil
	close(p.stop)
	p.wg.Wait()
	// Every worker has sent what it will send; a chunk the framer queued but
	// no worker took has no result.
	for done := range p.order {
		select {
		case res := <-done:
			if res.rec != nil {
				res.rec.Release()
			}
		default:
		}
	}
}

// frameChunks cuts chunks of want examples from lines.
type frameChunks struct {
	l    *lines
	f    framer
	want int
	ctx  context.Context
	// buf[start:] is read and not yet in a chunk; buf[:start] is in chunks
	// that workers may still read, so it is never written again. buf is
	// arr's array.
	buf   []byte
	start int
	eof   bool
	arr   *textArray
	free  chan []byte
}

// next returns the next chunk; at the end of the file a chunk with nil text;
// where the framer gives up, end: the text from the start of the chunk
// that the serial reader reads.
func (fc *frameChunks) next() (c chunk, end *chunk, err error) {
	if fc.ctx != nil && fc.ctx.Err() != nil {
		return c, nil, context.Cause(fc.ctx)
	}
	base, pos, lines, examples := fc.l.n, 0, 0, 0
	giveUp := func() (chunk, *chunk, error) {
		return chunk{}, &chunk{text: fc.buf[fc.start:], base: base}, nil
	}
	for {
		rest := fc.buf[fc.start:]
		for examples < fc.want {
			i := bytes.IndexByte(rest[pos:], '\n')
			if i < 0 {
				break
			}
			line := rest[pos : pos+i]
			if len(line)+1 > fc.l.max {
				return giveUp()
			}
			ends, ok := fc.f.line(bytes.TrimSuffix(line, []byte("\r")))
			if !ok {
				return giveUp()
			}
			pos += i + 1
			lines++
			if ends {
				examples++
			}
		}
		if examples == fc.want || fc.eof {
			break
		}
		if len(rest) >= chunkCap || len(rest)-pos > fc.l.max {
			// Too much for a chunk, or a line already over the bound: the
			// serial reader skips it without holding it.
			return giveUp()
		}
		if err := fc.fill(); err != nil {
			return c, nil, err
		}
	}
	rest := fc.buf[fc.start:]
	if examples < fc.want { // the end of the file
		if pos < len(rest) { // its last line has no line end
			line := rest[pos:]
			if len(line) > fc.l.max {
				return giveUp()
			}
			ends, ok := fc.f.line(bytes.TrimSuffix(line, []byte("\r")))
			if !ok {
				return giveUp()
			}
			pos, lines = len(rest), lines+1
			if ends {
				examples++
			}
		}
		if _, ok := fc.f.eof(); !ok {
			return giveUp()
		}
		if pos == 0 {
			return chunk{}, nil, nil
		}
	}
	fc.arr.refs.Add(1)
	c = chunk{text: rest[:pos:pos], base: base, arr: fc.arr}
	fc.start += pos
	fc.l.n += lines
	return c, nil, nil
}

// fill reads more of the file into buf, in a new array when the old one is
// full: its chunks stay with the workers.
func (fc *frameChunks) fill() error {
	if cap(fc.buf)-len(fc.buf) < 64<<10 {
		rest := fc.buf[fc.start:]
		size := max(1<<20, 2*len(rest))
		var b []byte
		select {
		case b = <-fc.free:
		default:
		}
		if cap(b) < size {
			b = make([]byte, 0, size)
		}
		b = append(b, rest...)
		if fc.arr != nil {
			fc.arr.release(fc.free) // after the copy: it may be reused
		}
		fc.arr = &textArray{b: b}
		fc.arr.refs.Store(1) // the framer's
		fc.buf, fc.start = b, 0
	}
	n, err := fc.l.br.Read(fc.buf[len(fc.buf):cap(fc.buf)])
	fc.buf = fc.buf[:len(fc.buf)+n]
	if err == io.EOF {
		fc.eof = true
		return nil
	}
	if err != nil {
		if _, ok := err.(*Error); ok { // a file that does not decompress
			return err
		}
		return fmt.Errorf("pipeline: %s: %w", fc.l.path, err)
	}
	return nil
}

// parallelWorkers is the number of goroutines that parse chunks.
func parallelWorkers() int { return runtime.GOMAXPROCS(0) }

// JSON Lines and one text file: an example is a line that is not blank.

func (s *jsonlSource) lineReader() *lines { return s.l }
func (s *jsonlSource) framer() framer     { return lineFramer{} }

func (s *jsonlSource) over(l *lines) rowSource {
	return &jsonlSource{l: l, cols: s.cols, roles: s.roles, keys: s.keys, vals: make([][]byte, len(s.keys))}
}

func (t *textSource) lineReader() *lines { return t.files[0] }

// framer is nil for parallel files, read in step, which stay serial.
func (t *textSource) framer() framer {
	if len(t.files) > 1 {
		return nil
	}
	return lineFramer{}
}

func (t *textSource) over(l *lines) rowSource { return &textSource{roles: t.roles, files: []*lines{l}} }

type lineFramer struct{}

func (lineFramer) line(b []byte) (bool, bool) { return !blank(b), true }
func (lineFramer) eof() (bool, bool)          { return false, true }

// Pronunciation dictionaries: an example is a line with an entry.

func (d *dictSource) lineReader() *lines      { return d.l }
func (d *dictSource) framer() framer          { return dictFramer{} }
func (d *dictSource) over(l *lines) rowSource { return &dictSource{l: l} }

type dictFramer struct{}

func (dictFramer) line(b []byte) (bool, bool) { return dictEntry(b) != nil, true }
func (dictFramer) eof() (bool, bool)          { return false, true }

// blank is whether b is only white space, as bytes.TrimSpace sees it.
func blank(b []byte) bool {
	if len(b) > 0 && b[0] > ' ' && b[0] < 0x80 {
		return false
	}
	return len(bytes.TrimSpace(b)) == 0
}

// CoNLL: an example is a group of lines up to a blank line that holds a
// token line (a line that is not a comment or -DOCSTART-): the serial
// reader gives each such group as an example or an error.

func (s *conllSource) lineReader() *lines { return s.l }
func (s *conllSource) framer() framer     { return &conllFramer{} }

func (s *conllSource) over(l *lines) rowSource {
	return &conllSource{l: l, cols: s.cols, roles: s.roles, index: s.index, ncols: s.ncols, max: s.max}
}

type conllFramer struct{ tokens bool }

func (f *conllFramer) line(b []byte) (bool, bool) {
	if blank(b) {
		ends := f.tokens
		f.tokens = false
		return ends, true
	}
	if !conllSkipped(b) {
		f.tokens = true
	}
	return false, true
}

func (f *conllFramer) eof() (bool, bool) { return f.tokens, true }

// CSV and TSV: a TSV line is a row; a CSV row is a line that is not empty,
// or, with quotes, the lines up to where its last quoted field closes, as
// RFC 4180 reads them. A quote RFC 4180 does not allow goes to the serial
// reader, whose encoding/csv words the error.

func (s *csvSource) lineReader() *lines { return s.l }

func (s *csvSource) framer() framer {
	if s.tsv {
		return tsvFramer{}
	}
	return &csvFramer{max: s.max}
}

func (s *csvSource) over(l *lines) rowSource {
	c := &csvSource{path: s.path, tsv: s.tsv, max: s.max, n: s.n, roles: s.roles, index: s.index}
	c.setLines(l)
	return c
}

type tsvFramer struct{}

func (tsvFramer) line([]byte) (bool, bool) { return true, true }
func (tsvFramer) eof() (bool, bool)        { return false, true }

type csvFramer struct {
	max    int
	quoted bool // inside a quoted field at the end of the last line
	size   int  // bytes of the row so far
}

func (f *csvFramer) line(b []byte) (bool, bool) {
	if !f.quoted {
		if len(b) == 0 {
			return false, true // encoding/csv skips empty lines
		}
		if bytes.IndexByte(b, '"') < 0 {
			return true, true
		}
		f.size = 0
	}
	if f.size += len(b) + 1; f.size > f.max {
		return false, false
	}
	// fieldStart: at the start of a field; in a quoted field, a quote
	// closes it or, doubled, stands for itself.
	fieldStart, i := !f.quoted, 0
	for i < len(b) {
		if !f.quoted {
			if fieldStart && b[i] == '"' {
				f.quoted, fieldStart = true, false
				i++
				continue
			}
			j := bytes.IndexAny(b[i:], `,"`)
			if j < 0 {
				return true, true
			}
			if b[i+j] == '"' {
				return false, false // a quote inside an unquoted field
			}
			i += j + 1
			fieldStart = true
			continue
		}
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return false, true // the field goes on on the next line
		}
		i += j + 1
		if i < len(b) && b[i] == '"' {
			i++
			continue
		}
		f.quoted = false
		if i < len(b) && b[i] != ',' {
			return false, false // text after a closing quote
		}
		if i < len(b) {
			i++
			fieldStart = true
			if i == len(b) {
				return true, true // a last field that is empty
			}
		}
	}
	return !f.quoted, true
}

// eof: a quoted field still open at the end of the file is an error the
// serial reader words.
func (f *csvFramer) eof() (bool, bool) { return false, !f.quoted }
