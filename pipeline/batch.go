package pipeline

import (
	"cmp"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// BatchConfig says how a [Dataset] is cut into batches. The zero value gives
// batches of 32 in file order with no length limit.
type BatchConfig struct {
	// Size is the number of sequences per batch (default 32), unless MaxTokens is set.
	Size int `json:"size,omitempty"`
	// MaxTokens, when positive, fills each batch with as many sequences as fit in
	// this many padded tokens (sequences × longest length), at least one.
	MaxTokens int `json:"max_tokens,omitempty"`
	// MaxLen limits the input length (0: no limit). Longer examples are cut to
	// MaxLen, or left out when Reject is set; both are counted.
	MaxLen int  `json:"max_len,omitempty"`
	Reject bool `json:"reject,omitempty"`
	// Shuffle draws a new order every epoch from Seed and the epoch number.
	Shuffle bool   `json:"shuffle,omitempty"`
	Seed    uint64 `json:"seed,omitempty"`
	// Bucket sorts examples by length within windows of BucketWindow examples
	// (default 100 batches' worth) before cutting batches, so a batch holds
	// sequences of similar length and little padding; with Shuffle the windows are
	// shuffled examples and the batches are shuffled after cutting.
	Bucket       bool `json:"bucket,omitempty"`
	BucketWindow int  `json:"bucket_window,omitempty"`
	// Keep, when set, selects the examples by source row (see [RatioSplit]).
	Keep func(row int64) bool `json:"-"`
}

// Batch is a padded, time-major batch: element (t, b) of a [T, B] array is at
// t·B + b. Padding is PadID in IDs and Target and -1 (no loss) in Tags.
type Batch struct {
	// Split, in the batch a whole-dataset task gets (tasks.Info.WholeDataset),
	// names the split it stands for (train, dev or test): the batch has no
	// rows, and the task takes the split's rows from its tables.
	Split   string
	Rows    []int64 // source row of each sequence
	T, B    int
	IDs     []int32 // [T, B]
	Lengths []int
	Tags    []int32 // [T, B]; nil when the dataset has none
	Labels  []int32 // [B]; nil when the dataset has none
	// Target is the target sequence, <bos> … <eos>, [TargetT, B]; nil when none.
	Target        []int32
	TargetT       int
	TargetLengths []int
	// Next is the token that follows each input token, [T, B], for language
	// models ([Stream]); nil elsewhere.
	Next []int32
	// Offset is where a [Stream] batch starts in its streams: 0 for the first
	// batch of a pass, whose models start from a fresh state.
	Offset int
	// Chars holds the character ids of each input token, [T·B] (index t·B + b),
	// nil at padding; nil when the dataset has no character columns.
	Chars [][]int32
	// Feature holds the feature id of each input token, [T, B] (PadID at
	// padding); nil when the dataset has no feature column.
	Feature []int32
	// Vector holds each sequence's vector, [B, VectorDim]; nil when the dataset
	// has no vector column.
	Vector    []float32
	VectorDim int
}

// Tokens is the number of input tokens of the batch, padding left out.
func (b *Batch) Tokens() int {
	n := 0
	for _, l := range b.Lengths {
		n += l
	}
	return n
}

// Batcher cuts a dataset into batches, epoch after epoch.
type Batcher struct {
	cfg       BatchConfig
	cols      []batchColumns
	index     []ref
	truncated int
	rejected  int
	vectorDim int
}

type ref struct {
	rec, row, len int32
}

type batchColumns struct {
	rows                 *array.Int64
	ids, tags, target    *array.List
	chars, charLens      *array.List
	feature, vector      *array.List
	lengths, label, tlen *array.Int32
}

// NewBatcher indexes ds (one pass over its length columns) for batching.
func NewBatcher(ds *Dataset, cfg BatchConfig) (*Batcher, error) {
	return NewRecordBatcher(ds.path, ds.Records(), cfg)
}

// NewRecordBatcher batches encoded records held in memory (the output of
// [Encoder.Encode]), as prediction does chunk by chunk; name is for messages.
func NewRecordBatcher(name string, recs []arrow.RecordBatch, cfg BatchConfig) (*Batcher, error) {
	if cfg.Size == 0 {
		cfg.Size = 32
	}
	if cfg.Size < 0 || cfg.MaxTokens < 0 || cfg.MaxLen < 0 || cfg.BucketWindow < 0 {
		return nil, fmt.Errorf("pipeline: batch size, max_tokens, max_len and bucket_window must not be negative")
	}
	if cfg.BucketWindow == 0 {
		cfg.BucketWindow = 100 * cfg.Size
	}
	b := &Batcher{cfg: cfg}
	for ri, rec := range recs {
		var c batchColumns
		for i, f := range rec.Schema().Fields() {
			col := rec.Column(i)
			switch f.Name {
			case RowField:
				c.rows, _ = col.(*array.Int64)
			case IDsField:
				c.ids, _ = col.(*array.List)
			case LengthField:
				c.lengths, _ = col.(*array.Int32)
			case TagsField:
				c.tags, _ = col.(*array.List)
			case LabelField:
				c.label, _ = col.(*array.Int32)
			case TargetField:
				c.target, _ = col.(*array.List)
			case TargetLengthField:
				c.tlen, _ = col.(*array.Int32)
			case CharsField:
				c.chars, _ = col.(*array.List)
			case CharLengthsField:
				c.charLens, _ = col.(*array.List)
			case FeatureField:
				c.feature, _ = col.(*array.List)
			case VectorField:
				c.vector, _ = col.(*array.List)
			}
		}
		if c.rows == nil || c.ids == nil || c.lengths == nil {
			return nil, fmt.Errorf("pipeline: dataset has no %s, %s and %s columns", RowField, IDsField, LengthField)
		}
		b.cols = append(b.cols, c)
		if err := checkRows(c, int(rec.NumRows())); err != nil {
			return nil, fmt.Errorf("pipeline: %s: record batch %d: %w", name, ri, err)
		}
		if c.vector != nil && rec.NumRows() > 0 {
			s, e := c.vector.ValueOffsets(0)
			if b.vectorDim > 0 && int(e-s) != b.vectorDim {
				return nil, fmt.Errorf("pipeline: %s: record batch %d: vectors of %d numbers, before %d", name, ri, e-s, b.vectorDim)
			}
			b.vectorDim = int(e - s)
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			if cfg.Keep != nil && !cfg.Keep(c.rows.Value(i)) {
				continue
			}
			n := c.lengths.Value(i)
			if cfg.MaxLen > 0 && int(n) > cfg.MaxLen {
				if cfg.Reject {
					b.rejected++
					continue
				}
				b.truncated++
				n = int32(cfg.MaxLen)
			}
			b.index = append(b.index, ref{int32(ri), int32(i), n})
		}
	}
	return b, nil
}

// checkRows checks what building batches relies on, row by row: list offsets that
// never decrease, an input length equal to the row's ids and tags, a target length
// equal to its ids. A dataset written by this package always passes; a corrupt one
// fails here instead of panicking in a batch.
func checkRows(c batchColumns, n int) error {
	if (c.chars == nil) != (c.charLens == nil) {
		return fmt.Errorf("%s and %s come together", CharsField, CharLengthsField)
	}
	if c.vector != nil {
		if _, ok := c.vector.ListValues().(*array.Float32); !ok {
			return fmt.Errorf("%s holds %s, not float32", VectorField, c.vector.ListValues().DataType())
		}
	}
	for _, l := range []*array.List{c.ids, c.tags, c.target, c.chars, c.charLens, c.feature, c.vector} {
		if l == nil {
			continue
		}
		off := l.Offsets()
		for i := 0; i < n; i++ {
			if off[i+1] < off[i] {
				return fmt.Errorf("list offsets decrease at row %d", i)
			}
		}
	}
	rowLen := func(l *array.List, i int) int32 {
		s, e := l.ValueOffsets(i)
		return int32(e - s)
	}
	for i := 0; i < n; i++ {
		want := c.lengths.Value(i)
		if rowLen(c.ids, i) != want || (c.tags != nil && rowLen(c.tags, i) != want) || (c.feature != nil && rowLen(c.feature, i) != want) {
			return fmt.Errorf("row %d: length %d does not match its ids, tags or feature", i, want)
		}
		if c.vector != nil && rowLen(c.vector, i) != rowLen(c.vector, 0) {
			return fmt.Errorf("row %d: a vector of %d numbers where row 0 has %d", i, rowLen(c.vector, i), rowLen(c.vector, 0))
		}
		if c.target != nil && (c.tlen == nil || rowLen(c.target, i) != c.tlen.Value(i)) {
			return fmt.Errorf("row %d: target length does not match its ids", i)
		}
		if c.chars != nil {
			if rowLen(c.charLens, i) != want {
				return fmt.Errorf("row %d: %d character lengths for %d tokens", i, rowLen(c.charLens, i), want)
			}
			sum := int32(0)
			for _, n := range listRow(c.charLens, i) {
				if n < 0 {
					return fmt.Errorf("row %d: negative character length", i)
				}
				sum += n
			}
			if sum != rowLen(c.chars, i) {
				return fmt.Errorf("row %d: character lengths add up to %d, not %d", i, sum, rowLen(c.chars, i))
			}
		}
	}
	return nil
}

// Len is the number of examples batched per epoch.
func (b *Batcher) Len() int { return len(b.index) }

// Truncated and Rejected count the examples longer than MaxLen.
func (b *Batcher) Truncated() int { return b.truncated }

// Rejected counts the examples left out for being longer than MaxLen with Reject.
func (b *Batcher) Rejected() int { return b.rejected }

// Epoch yields the batches of one epoch. The order depends only on the config and
// the epoch number, so a run can be repeated or resumed mid-way.
func (b *Batcher) Epoch(epoch int) iter.Seq[*Batch] {
	order := slices.Clone(b.index)
	var rng *rand.Rand
	if b.cfg.Shuffle {
		rng = rand.New(rand.NewPCG(b.cfg.Seed, uint64(epoch)))
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	if b.cfg.Bucket {
		for s := 0; s < len(order); s += b.cfg.BucketWindow {
			w := order[s:min(s+b.cfg.BucketWindow, len(order))]
			slices.SortStableFunc(w, func(x, y ref) int { return cmp.Compare(x.len, y.len) })
		}
	}
	var cuts [][]ref
	for s := 0; s < len(order); {
		n := min(b.cfg.Size, len(order)-s)
		if b.cfg.MaxTokens > 0 {
			n = fit(order[s:], b.cfg.MaxTokens)
		}
		cuts = append(cuts, order[s:s+n])
		s += n
	}
	if rng != nil && b.cfg.Bucket {
		rng.Shuffle(len(cuts), func(i, j int) { cuts[i], cuts[j] = cuts[j], cuts[i] })
	}
	return func(yield func(*Batch) bool) {
		for _, c := range cuts {
			if !yield(b.build(c)) {
				return
			}
		}
	}
}

// fit is how many of refs, taken in order, fit in maxTokens padded tokens (at
// least one).
func fit(refs []ref, maxTokens int) int {
	n, longest := 0, int32(1)
	for n < len(refs) {
		l := max(longest, refs[n].len)
		if n > 0 && int(l)*(n+1) > maxTokens {
			break
		}
		longest, n = l, n+1
	}
	return n
}

func (b *Batcher) build(refs []ref) *Batch {
	B := len(refs)
	bt := &Batch{B: B, Rows: make([]int64, B), Lengths: make([]int, B)}
	for i, r := range refs {
		bt.T = max(bt.T, int(r.len))
		bt.Lengths[i] = int(r.len)
		bt.Rows[i] = b.cols[r.rec].rows.Value(int(r.row))
	}
	c0 := b.cols[refs[0].rec]
	bt.IDs = make([]int32, bt.T*B) // PadID is 0
	if c0.tags != nil {
		bt.Tags = make([]int32, bt.T*B)
		for i := range bt.Tags {
			bt.Tags[i] = -1
		}
	}
	if c0.label != nil {
		bt.Labels = make([]int32, B)
	}
	if c0.target != nil {
		bt.TargetLengths = make([]int, B)
		for i, r := range refs {
			bt.TargetLengths[i] = int(b.cols[r.rec].tlen.Value(int(r.row)))
			bt.TargetT = max(bt.TargetT, bt.TargetLengths[i])
		}
		bt.Target = make([]int32, bt.TargetT*B)
	}
	if c0.chars != nil {
		bt.Chars = make([][]int32, bt.T*B)
	}
	if c0.feature != nil {
		bt.Feature = make([]int32, bt.T*B)
	}
	if c0.vector != nil {
		s, e := c0.vector.ValueOffsets(int(refs[0].row))
		bt.VectorDim = int(e - s)
		bt.Vector = make([]float32, 0, B*bt.VectorDim)
	}
	for i, r := range refs {
		c, row := b.cols[r.rec], int(r.row)
		if bt.Vector != nil {
			s, e := c.vector.ValueOffsets(row)
			bt.Vector = append(bt.Vector, c.vector.ListValues().(*array.Float32).Float32Values()[s:e]...)
		}
		timeMajor(bt.IDs, listRow(c.ids, row)[:r.len], i, B)
		if bt.Feature != nil {
			timeMajor(bt.Feature, listRow(c.feature, row)[:r.len], i, B)
		}
		if bt.Chars != nil {
			all, lens := listRow(c.chars, row), listRow(c.charLens, row)
			off := int32(0)
			for t := range int(r.len) {
				bt.Chars[t*B+i] = all[off : off+lens[t] : off+lens[t]]
				off += lens[t]
			}
		}
		if bt.Tags != nil {
			timeMajor(bt.Tags, listRow(c.tags, row)[:r.len], i, B)
		}
		if bt.Labels != nil {
			bt.Labels[i] = c.label.Value(row)
		}
		if bt.Target != nil {
			timeMajor(bt.Target, listRow(c.target, row), i, B)
		}
	}
	return bt
}

func listRow(l *array.List, i int) []int32 {
	s, e := l.ValueOffsets(i)
	return l.ListValues().(*array.Int32).Int32Values()[s:e]
}

func timeMajor(dst, seq []int32, b, B int) {
	for t, v := range seq {
		dst[t*B+b] = v
	}
}

// RatioSplit assigns each example to one of several parts (train/dev/test) by a
// seeded hash of its source row, in proportion to Ratios. The assignment needs no
// pass over the data and does not change when other rows are added or removed.
type RatioSplit struct {
	Ratios []float64
	Seed   uint64
}

// Part returns the index of the part row belongs to.
func (s RatioSplit) Part(row int64) int {
	var total float64
	for _, r := range s.Ratios {
		total += r
	}
	u := float64(splitmix(s.Seed^uint64(row))>>11) / (1 << 53) * total
	for i, r := range s.Ratios {
		if u < r {
			return i
		}
		u -= r
	}
	return len(s.Ratios) - 1
}

// Keep returns a filter for BatchConfig.Keep that selects one part.
func (s RatioSplit) Keep(part int) func(int64) bool {
	return func(row int64) bool { return s.Part(row) == part }
}

// splitmix is the SplitMix64 finaliser: a cheap, well-mixed 64-bit hash.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Stream batches a dataset as one token stream, the way language models are
// trained with truncated backpropagation through time: all input ids in row
// order are cut into B equal parallel streams, and the batches are consecutive
// windows of up to T steps of every stream, with Next holding each step's
// following token and Offset the window's start. Batch k+1 continues where batch
// k stopped in every stream, so a model may carry its state across batches. The
// rest of the stream that does not divide evenly into B is dropped, as in the
// usual batchify.
type Stream struct {
	ids  []int32 // the whole token stream
	B, T int
}

// NewStream reads the input ids of ds into one stream for B-by-T batches. It
// holds 4 bytes per token.
func NewStream(ds *Dataset, B, T int) (*Stream, error) {
	if B <= 0 || T <= 0 {
		return nil, fmt.Errorf("pipeline: stream batches need positive B and T, got %d and %d", B, T)
	}
	var all []int32
	for _, rec := range ds.Records() {
		idx := rec.Schema().FieldIndices(IDsField)
		if len(idx) == 0 {
			return nil, fmt.Errorf("pipeline: dataset has no %s column", IDsField)
		}
		l := rec.Column(idx[0]).(*array.List)
		off := l.Offsets()
		all = append(all, l.ListValues().(*array.Int32).Int32Values()[off[0]:off[len(off)-1]]...)
	}
	return &Stream{ids: all, B: B, T: T}, nil
}

// per is the number of tokens of each parallel stream.
func (s *Stream) per() int { return len(s.ids) / s.B }

// Len is the number of batches of one pass.
func (s *Stream) Len() int { return max(s.per()-1+s.T-1, 0) / s.T }

// Tokens is the number of tokens predicted in one pass.
func (s *Stream) Tokens() int { return max(s.per()-1, 0) * s.B }

// Every yields the batches of one evaluation pass that predicts every token
// of the stream but the first (which has nothing before it): the B streams
// split the N-1 predictions into parts of sizes differing by at most one,
// each starting from the token before its first prediction, so nothing is
// dropped at the ends of the streams or in the remainder. A stream shorter
// than the window has its tail padded, with Next -1 (no target) there.
func (s *Stream) Every() iter.Seq[*Batch] {
	B, n := s.B, len(s.ids)-1 // predictions
	return func(yield func(*Batch) bool) {
		if n <= 0 {
			return
		}
		start := func(b int) int { return b * n / B } // of stream b's predictions
		longest := start(1) - start(0)
		for b := range B {
			longest = max(longest, start(b+1)-start(b))
		}
		for off := 0; off < longest; off += s.T {
			steps := min(s.T, longest-off)
			bt := &Batch{T: steps, B: B, IDs: make([]int32, steps*B), Next: make([]int32, steps*B), Lengths: make([]int, B), Offset: off}
			for b := range B {
				first, size := start(b), start(b+1)-start(b)
				bt.Lengths[b] = steps
				for t := range steps {
					if off+t < size {
						bt.IDs[t*B+b] = s.ids[first+off+t]
						bt.Next[t*B+b] = s.ids[first+off+t+1]
					} else {
						bt.IDs[t*B+b], bt.Next[t*B+b] = PadID, -1
					}
				}
			}
			if !yield(bt) {
				return
			}
		}
	}
}

// Batches yields the batches of one pass in order.
func (s *Stream) Batches() iter.Seq[*Batch] {
	per, B := s.per(), s.B
	return func(yield func(*Batch) bool) {
		for start := 0; start+1 < per; start += s.T {
			steps := min(s.T, per-1-start)
			bt := &Batch{T: steps, B: B, IDs: make([]int32, steps*B), Next: make([]int32, steps*B), Lengths: make([]int, B), Offset: start}
			for b := range B {
				stream := s.ids[b*per : (b+1)*per]
				bt.Lengths[b] = steps
				for t := range steps {
					bt.IDs[t*B+b] = stream[start+t]
					bt.Next[t*B+b] = stream[start+t+1]
				}
			}
			if !yield(bt) {
				return
			}
		}
	}
}
