package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/tasks/rundir"
)

// PredictOptions tune [Predict].
type PredictOptions struct {
	BatchSize int
	// Limits bound the input's lines and examples (the run's data.limits).
	Limits pipeline.Limits
	// Progress, if set, receives the bytes read of the input.
	Progress func(done, total int64)
	// Gold keeps the source's tags, label and target columns in the output
	// (named gold_tags, gold_label, gold_target) beside the predictions.
	Gold bool
	// AttentionDir, when set, receives the attention weights of every
	// prediction of a task that attends ([Attender]): attention-ROW.json and a
	// heat map, attention-ROW.png, ROW being the input row (line) number.
	AttentionDir string
}

// Predict reads src record batch by record batch, encodes each with the run's
// tokenizer and vocabularies, predicts it in batches in file order and writes the
// input columns with the task's output columns to w (PredictRecords over the
// source). It stops, with ctx's cause as the error, once ctx is done (a Ctrl-C).
func Predict(ctx context.Context, task Task, src pipeline.Source, tok *pipeline.Tokenizer, v pipeline.Vocabs, w rundir.RowWriter, opt PredictOptions) (rows int64, err error) {
	popts := []pipeline.Option{pipeline.WithLimits(opt.Limits), pipeline.WithContext(ctx)}
	if opt.Progress != nil {
		popts = append(popts, pipeline.WithProgress(opt.Progress))
	}
	rd, err := pipeline.Open(src, popts...)
	if err != nil {
		return 0, err
	}
	defer rd.Release()
	out := PredictRecords(ctx, task, nil, rd, tok, v, opt)
	defer out.Release()
	return rundir.WriteAll(w, out)
}

// PredictRecords predicts the record batches of in (the schema pipeline.Open
// reads: a row column and the input columns) and returns a reader of the input
// columns beside the task's output columns, one record batch per prediction
// batch, in input order. Encoding runs one record batch ahead of the model on
// its own goroutine; memory stays bounded by three input record batches and
// their predictions, whatever the size of the input. lock, if set, is held
// around every call of the task, so several readers can share one task. The
// reader stops, with ctx's cause as its error, once ctx is done. Release it
// when done; in is the caller's.
func PredictRecords(ctx context.Context, task Task, lock sync.Locker, in array.RecordReader, tok *pipeline.Tokenizer, v pipeline.Vocabs, opt PredictOptions) array.RecordReader {
	// The vector is input (a generator's condition); labels are encoded when
	// the input has them: a conditional generator reads them as input, the
	// other tasks ignore them.
	enc := &pipeline.Encoder{Tokenizer: tok, Vocabs: pipeline.Vocabs{Input: v.Input, Chars: v.Chars, Feature: v.Feature, Vector: v.Vector}, MaxTokens: opt.Limits.MaxTokens}
	if len(in.Schema().FieldIndices(pipeline.RoleLabel.String())) > 0 {
		enc.Vocabs.Labels = v.Labels
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 64
	}
	if lock == nil {
		lock = noLock{}
	}
	p := &predictions{ctx: ctx, task: task, lock: lock, opt: opt, ahead: make(chan encoded, 1), stop: make(chan struct{})}
	if f, ok := in.(interface{ Path() string }); ok {
		p.path = f.Path() // the encoder knows lines, not files
	}
	p.refs.Store(1)
	go p.read(in, enc)
	return p
}

type noLock struct{}

func (noLock) Lock()   {}
func (noLock) Unlock() {}

// encoded is an input record batch and its ids, or the error that ended reading.
type encoded struct {
	in, ids arrow.RecordBatch
	err     error
}

// predictions is the reader PredictRecords returns.
type predictions struct {
	ctx     context.Context
	task    Task
	lock    sync.Locker
	opt     PredictOptions
	ahead   chan encoded
	stop    chan struct{}
	stopped bool
	pending []arrow.RecordBatch // predicted, not yet returned
	cur     arrow.RecordBatch
	schema  *arrow.Schema
	err     error
	path    string // of the input, for the encoder's errors
	refs    atomic.Int64
}

// read encodes the input on its own goroutine, one record batch ahead.
func (p *predictions) read(in array.RecordReader, enc *pipeline.Encoder) {
	defer close(p.ahead)
	for in.Next() {
		rec := in.RecordBatch()
		ids, _, err := enc.Encode(rec)
		if err == nil {
			rec.Retain() // the reader releases it at its next record batch
		}
		select {
		case p.ahead <- encoded{in: rec, ids: ids, err: err}:
		case <-p.stop:
			if err == nil {
				rec.Release()
				ids.Release()
			}
			return
		}
		if err != nil {
			return
		}
	}
	if err := in.Err(); err != nil {
		select {
		case p.ahead <- encoded{err: err}:
		case <-p.stop:
		}
	}
}

func (p *predictions) Next() bool {
	if p.cur != nil {
		p.cur.Release()
		p.cur = nil
	}
	for len(p.pending) == 0 {
		if p.err != nil || !p.fill() {
			return false
		}
	}
	p.cur, p.pending = p.pending[0], p.pending[1:]
	if p.schema == nil {
		p.schema = p.cur.Schema()
	}
	return true
}

// fill predicts the next input record batch into pending.
func (p *predictions) fill() bool {
	e, ok := <-p.ahead
	if !ok {
		return false
	}
	if e.err != nil {
		var pe *pipeline.Error
		if errors.As(e.err, &pe) && pe.Path == "" {
			pe.Path = p.path
		}
		p.err = e.err
		return false
	}
	defer e.in.Release()
	defer e.ids.Release()
	if err := predictRecord(p.ctx, p.task, p.lock, e.in, e.ids, (*pendingWriter)(&p.pending), p.opt.BatchSize, p.opt); err != nil {
		p.err = err
		return false
	}
	return true
}

// pendingWriter keeps the predicted record batches for Next.
type pendingWriter []arrow.RecordBatch

func (w *pendingWriter) Write(rec arrow.RecordBatch) error {
	rec.Retain()
	*w = append(*w, rec)
	return nil
}

func (w *pendingWriter) Close() error { return nil }

// Schema is the output schema; it is known once the first batch is
// predicted, which Schema does if Next has not.
func (p *predictions) Schema() *arrow.Schema {
	if p.schema == nil && p.cur == nil && len(p.pending) == 0 && p.err == nil {
		p.fill()
		if len(p.pending) > 0 {
			p.schema = p.pending[0].Schema()
		}
	}
	return p.schema
}

func (p *predictions) RecordBatch() arrow.RecordBatch { return p.cur }

// Record is RecordBatch, for arrow's older interface.
func (p *predictions) Record() arrow.RecordBatch { return p.cur }

func (p *predictions) Err() error { return p.err }

func (p *predictions) Retain() { p.refs.Add(1) }

// Release stops the reading goroutine and drops what it and Next hold.
func (p *predictions) Release() {
	if p.refs.Add(-1) != 0 {
		return
	}
	close(p.stop)
	for e := range p.ahead {
		if e.err == nil && e.in != nil {
			e.in.Release()
			e.ids.Release()
		}
	}
	for _, r := range p.pending {
		r.Release()
	}
	p.pending = nil
	if p.cur != nil {
		p.cur.Release()
		p.cur = nil
	}
}

func predictRecord(ctx context.Context, task Task, lock sync.Locker, in, ids arrow.RecordBatch, w rundir.RowWriter, size int, opt PredictOptions) error {
	bt, err := pipeline.NewRecordBatcher("input", []arrow.RecordBatch{ids}, pipeline.BatchConfig{Size: size})
	if err != nil {
		return err
	}
	off := int64(0)
	for b := range bt.Epoch(0) {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		lock.Lock()
		out, err := task.Predict(b)
		if err == nil && opt.AttentionDir != "" {
			if err = writeAttention(task, b, opt.AttentionDir); err != nil {
				out.Release()
			}
		}
		lock.Unlock()
		if err != nil {
			return err
		}
		rec := joinColumns(in, off, int64(b.B), out, opt.Gold)
		out.Release()
		err = w.Write(rec)
		rec.Release()
		if err != nil {
			return err
		}
		off += int64(b.B)
	}
	return nil
}

// writeAttention writes the attention weights of a batch's predictions as JSON
// and heat maps into dir.
func writeAttention(task Task, b *pipeline.Batch, dir string) error {
	at, ok := task.(Attender)
	if !ok {
		return fmt.Errorf("the %s task has no attention to write", task.Info().Name)
	}
	maps, err := at.Attention(b)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for j, m := range maps {
		base := filepath.Join(dir, fmt.Sprintf("attention-%d", b.Rows[j]))
		js, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if err := pipeline.WriteFileAtomic(base+".json", append(js, '\n')); err != nil {
			return err
		}
		if err := rundir.HeatMap(base+".png", "attention", "source", "output", m.Source, m.Output, m.Weights, nil); err != nil {
			return fmt.Errorf("attention plot: %w", err)
		}
	}
	return nil
}

// joinColumns puts the input rows [off, off+n) beside the predictions.
func joinColumns(in arrow.RecordBatch, off, n int64, out arrow.RecordBatch, gold bool) arrow.RecordBatch {
	var fields []arrow.Field
	var cols []arrow.Array
	for i, f := range in.Schema().Fields() {
		switch f.Name {
		case "tags", "label", "target":
			if !gold {
				continue
			}
			f.Name = "gold_" + f.Name
		}
		fields = append(fields, f)
		cols = append(cols, array.NewSlice(in.Column(i), off, off+n))
	}
	for i, f := range out.Schema().Fields() {
		fields = append(fields, f)
		c := out.Column(i)
		c.Retain()
		cols = append(cols, c)
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, n)
	for _, c := range cols {
		c.Release()
	}
	return rec
}
