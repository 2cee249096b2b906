package pipeline

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/seqkit/seqkit/internal/quote"
)

// Field names of encoded records.
const (
	IDsField          = "ids"           // list<int32>: input token ids
	LengthField       = "length"        // int32: number of input ids
	TagsField         = "tags"          // list<int32>: one tag id per input token
	LabelField        = "label"         // int32: class id
	TargetField       = "target"        // list<int32>: <bos> target ids <eos>
	TargetLengthField = "target_length" // int32
	CharsField        = "chars"         // list<int32>: the character ids of every input token, concatenated
	CharLengthsField  = "char_lengths"  // list<int32>: the number of characters of each input token
	FeatureField      = "feature"       // list<int32>: one feature id per input token
	VectorField       = "vector"        // list<float32>: the example's vector, Vocabs.Vector numbers
)

// Vocabs holds the vocabularies of a dataset; nil for roles it lacks.
type Vocabs struct {
	Input  *Vocab // text or tokens
	Tags   *Vocab
	Labels *Vocab
	Target *Vocab
	// Chars is the vocabulary of the characters of input tokens, for character
	// features; built only when VocabConfig.Chars asks for it.
	Chars *Vocab
	// Feature is the vocabulary of the per-token feature column (with specials:
	// an unseen value is <unk>).
	Feature *Vocab
	// Vector is the length of the vector column (0: none), from the first
	// training row; every row must have it.
	Vector int
}

// VocabSlot is one vocabulary of a [Vocabs], by its role name.
type VocabSlot struct {
	Name  string // input, tags, labels, target, chars or feature
	Vocab **Vocab
}

// Slots lists the vocabularies of v, set or not, in a fixed order: what
// saving, loading, hashing and sending them iterate over.
func (v *Vocabs) Slots() []VocabSlot {
	return []VocabSlot{{"input", &v.Input}, {"tags", &v.Tags}, {"labels", &v.Labels},
		{"target", &v.Target}, {"chars", &v.Chars}, {"feature", &v.Feature}}
}

// maxVector bounds the length of a vector column.
const maxVector = 1 << 16

// Encoder turns read records (the schema of [Schema]) into id records. The input
// text (or tokens) and the target text go through Tokenizer; labels and tags are
// looked up as they are.
type Encoder struct {
	Tokenizer *Tokenizer
	Vocabs    Vocabs
	Mem       memory.Allocator // nil: the default allocator
	// MaxTokens refuses an example whose input or target has more tokens (0:
	// [DefaultMaxTokens]).
	MaxTokens int
}

// EncodeStats counts what encoding saw. Tokens missing from the input or target
// vocabulary become <unk>; tags and labels missing from theirs become -1 (no loss)
// and are listed by value, so a label seen only in dev or test is reported.
type EncodeStats struct {
	Rows           int64
	Tokens         int64 // input tokens
	UnknownTokens  int64 // input tokens mapped to <unk>
	TargetTokens   int64
	UnknownTargets int64
	UnknownTags    map[string]int
	UnknownLabels  map[string]int
}

// Add counts o into s: the stats of a dataset from those of its shards.
func (s *EncodeStats) Add(o EncodeStats) {
	s.Rows += o.Rows
	s.Tokens += o.Tokens
	s.UnknownTokens += o.UnknownTokens
	s.TargetTokens += o.TargetTokens
	s.UnknownTargets += o.UnknownTargets
	for _, p := range []struct{ dst, src *map[string]int }{{&s.UnknownTags, &o.UnknownTags}, {&s.UnknownLabels, &o.UnknownLabels}} {
		if len(*p.src) == 0 {
			continue
		}
		if *p.dst == nil {
			*p.dst = map[string]int{}
		}
		for k, v := range *p.src {
			(*p.dst)[k] += v
		}
	}
}

// OOVRate is the share of input tokens mapped to <unk>.
func (s EncodeStats) OOVRate() float64 {
	if s.Tokens == 0 {
		return 0
	}
	return float64(s.UnknownTokens) / float64(s.Tokens)
}

// roleColumns finds the role columns of a read record.
type roleColumns struct {
	row                         *array.Int64
	shard                       *array.Int32
	text, label, target         *array.String
	tokens, tags, feature       *array.List
	vector                      *array.List
	hasInput, hasTags, hasLabel bool
}

func columnsOf(rec arrow.RecordBatch) (roleColumns, error) {
	var c roleColumns
	for i, f := range rec.Schema().Fields() {
		col := rec.Column(i)
		var ok bool
		switch f.Name {
		case RowField:
			c.row, ok = col.(*array.Int64)
		case ShardField:
			c.shard, ok = col.(*array.Int32)
		case RoleText.String():
			c.text, ok = col.(*array.String)
		case RoleLabel.String():
			c.label, ok = col.(*array.String)
		case RoleTarget.String():
			c.target, ok = col.(*array.String)
		case RoleTokens.String():
			c.tokens, ok = col.(*array.List)
		case RoleTags.String():
			c.tags, ok = col.(*array.List)
		case RoleFeature.String():
			c.feature, ok = col.(*array.List)
		case RoleVector.String():
			c.vector, ok = col.(*array.List)
		default:
			ok = true
		}
		if !ok {
			return c, fmt.Errorf("pipeline: field %q has type %s, not the reader's", f.Name, f.Type)
		}
	}
	if c.row == nil {
		return c, fmt.Errorf("pipeline: record has no %q field", RowField)
	}
	return c, nil
}

// listStrings returns row i of a list<utf8> column.
func listStrings(l *array.List, i int) []string { return appendList(nil, l, i) }

// appendList appends row i of a list<utf8> column to dst: listStrings into
// a buffer that is reused from row to row.
func appendList(dst []string, l *array.List, i int) []string {
	s, e := l.ValueOffsets(i)
	vals := l.ListValues().(*array.String)
	for j := s; j < e; j++ {
		dst = append(dst, vals.Value(int(j)))
	}
	return dst
}

// inputTokens returns the input tokens of row i: the tokens column cleaned, or the
// text column tokenized.
func (e *Encoder) inputTokens(c roleColumns, i int, buf []string) []string {
	buf = buf[:0]
	if c.tokens != nil {
		buf = appendList(buf, c.tokens, i)
		for j, t := range buf {
			buf[j] = e.Tokenizer.Clean(t)
		}
		return buf
	}
	return e.Tokenizer.Tokens(buf, c.text.Value(i))
}

// Schema returns the schema of encoded records for the vocabularies present.
// The records of a sharded source also carry its [ShardField] column, after
// the row column ([Encoder.ShardSchema]).
func (e *Encoder) Schema() *arrow.Schema { return e.schema(false) }

// ShardSchema is [Encoder.Schema] for a sharded source's records.
func (e *Encoder) ShardSchema() *arrow.Schema { return e.schema(true) }

func (e *Encoder) schema(sharded bool) *arrow.Schema {
	ids := arrow.ListOf(arrow.PrimitiveTypes.Int32)
	fields := []arrow.Field{{Name: RowField, Type: arrow.PrimitiveTypes.Int64}}
	if sharded {
		fields = append(fields, arrow.Field{Name: ShardField, Type: arrow.PrimitiveTypes.Int32})
	}
	if e.Vocabs.Input != nil {
		fields = append(fields, arrow.Field{Name: IDsField, Type: ids}, arrow.Field{Name: LengthField, Type: arrow.PrimitiveTypes.Int32})
		if e.Vocabs.Chars != nil {
			fields = append(fields, arrow.Field{Name: CharsField, Type: ids}, arrow.Field{Name: CharLengthsField, Type: ids})
		}
	}
	if e.Vocabs.Feature != nil {
		fields = append(fields, arrow.Field{Name: FeatureField, Type: ids})
	}
	if e.Vocabs.Vector > 0 {
		fields = append(fields, arrow.Field{Name: VectorField, Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)})
	}
	if e.Vocabs.Tags != nil {
		fields = append(fields, arrow.Field{Name: TagsField, Type: ids})
	}
	if e.Vocabs.Labels != nil {
		fields = append(fields, arrow.Field{Name: LabelField, Type: arrow.PrimitiveTypes.Int32})
	}
	if e.Vocabs.Target != nil {
		fields = append(fields, arrow.Field{Name: TargetField, Type: ids}, arrow.Field{Name: TargetLengthField, Type: arrow.PrimitiveTypes.Int32})
	}
	return arrow.NewSchema(fields, nil)
}

// Encode encodes one record. The caller releases the result.
// Long on purpose: one pass over a record batch builds every output
// column side by side, so each row is read once.
func (e *Encoder) Encode(rec arrow.RecordBatch) (arrow.RecordBatch, EncodeStats, error) {
	return e.encode(rec, nil)
}

// encode is Encode into b, a builder of the encoded schema that EncodeAll's
// workers keep from record to record, sized by the last (nil: a new one).
func (e *Encoder) encode(rec arrow.RecordBatch, b *array.RecordBuilder) (_ arrow.RecordBatch, st EncodeStats, err error) {
	if e.Tokenizer == nil {
		return nil, st, fmt.Errorf("pipeline: the encoder has no tokenizer")
	}
	c, err := columnsOf(rec)
	if err != nil {
		return nil, st, err
	}
	v := e.Vocabs
	if v.Input != nil && c.text == nil && c.tokens == nil {
		return nil, st, fmt.Errorf("pipeline: an input vocabulary but no text or tokens field")
	}
	if (v.Tags != nil && c.tags == nil) || (v.Labels != nil && c.label == nil) || (v.Target != nil && c.target == nil) || (v.Feature != nil && c.feature == nil) || (v.Vector > 0 && c.vector == nil) {
		return nil, st, fmt.Errorf("pipeline: the record lacks a field that a vocabulary is for")
	}
	encoded := e.schema(c.shard != nil)
	kept := b != nil && b.Schema().Equal(encoded)
	if !kept {
		b = array.NewRecordBuilder(e.mem(), encoded)
		defer b.Release()
	}
	defer func() {
		if err != nil {
			// Empty what the failed batch left in the builder, a field at a
			// time (they hold different numbers of rows), for the next.
			for _, f := range b.Fields() {
				f.NewArray().Release()
			}
		}
	}()
	n := int(rec.NumRows())
	var toks []string
	// rowIDs holds a row's ids, appended to a list in one call: a value at
	// a time, the builder checked its capacity and set a validity bit for
	// each.
	var rowIDs []int32
	maxTok := Limits{MaxTokens: e.MaxTokens}.Tokens()
	col := 0
	next := func() array.Builder { col++; return b.Field(col) }
	rowB := b.Field(0).(*array.Int64Builder)
	rowB.AppendValues(c.row.Int64Values(), nil)
	if c.shard != nil {
		next().(*array.Int32Builder).AppendValues(c.shard.Int32Values(), nil)
	}
	if v.Input != nil {
		ids, lens := next().(*array.ListBuilder), next().(*array.Int32Builder)
		vb := ids.ValueBuilder().(*array.Int32Builder)
		var chars, clens *array.ListBuilder
		if v.Chars != nil {
			chars, clens = next().(*array.ListBuilder), next().(*array.ListBuilder)
		}
		// Plain white-space splitting of a text column looks tokens up by
		// their offsets in the row's text, storing no token string (each
		// store would pass the garbage collector's write barrier).
		plain := c.tokens == nil && chars == nil && e.Tokenizer.plain()
		if plain {
			// The batch's text as one string: a row's tokens are looked
			// up by their offsets in it, so that most, the last of the
			// batch apart, have 16 bytes after their start to load.
			all, offs := batchText(c.text)
			spans := make([]int, 0, 128) // a row's field bounds, 64 fields before it grows
			for i := 0; i < n; i++ {
				start := int(offs[i] - offs[0])
				text := all[start : start+int(offs[i+1]-offs[i])]
				ids.Append(true)
				spans = fieldSpans(spans[:0], text)
				row := rowIDs[:0]
				for k := 0; k+1 < len(spans); k += 2 {
					id, ok := v.Input.idAt(all, start+spans[k], start+spans[k+1])
					if !ok {
						id = UnkID
						st.UnknownTokens++
					}
					row = append(row, id)
				}
				if len(row) > maxTok {
					return nil, st, tooManyTokens(int(c.row.Value(i)), "input", len(row), maxTok)
				}
				vb.AppendValues(row, nil)
				lens.Append(int32(len(row)))
				st.Tokens += int64(len(row))
				rowIDs = row
			}
		}
		// A list of tokens that Clean leaves as they are (no
		// normalisation, no lower-casing) is looked up the same way, by
		// offsets in the list's values (a CoNLL file's words).
		listed := c.tokens != nil && chars == nil && !e.Tokenizer.norm && !e.Tokenizer.cfg.Lower
		if listed {
			all, offs := batchText(c.tokens.ListValues().(*array.String))
			for i := 0; i < n; i++ {
				j0, j1 := c.tokens.ValueOffsets(i)
				if int(j1-j0) > maxTok {
					return nil, st, tooManyTokens(int(c.row.Value(i)), "input", int(j1-j0), maxTok)
				}
				ids.Append(true)
				row := rowIDs[:0]
				for j := j0; j < j1; j++ {
					id, ok := v.Input.idAt(all, int(offs[j]-offs[0]), int(offs[j+1]-offs[0]))
					if !ok {
						id = UnkID
						st.UnknownTokens++
					}
					row = append(row, id)
				}
				vb.AppendValues(row, nil)
				lens.Append(int32(len(row)))
				st.Tokens += int64(len(row))
				rowIDs = row
			}
		}
		for i := 0; i < n && !plain && !listed; i++ {
			toks = e.inputTokens(c, i, toks)
			if len(toks) > maxTok {
				return nil, st, tooManyTokens(int(c.row.Value(i)), "input", len(toks), maxTok)
			}
			ids.Append(true)
			rowIDs = rowIDs[:0]
			for _, t := range toks {
				id, ok := v.Input.ID(t)
				if !ok {
					id = UnkID
					st.UnknownTokens++
				}
				rowIDs = append(rowIDs, id)
			}
			vb.AppendValues(rowIDs, nil)
			lens.Append(int32(len(toks)))
			st.Tokens += int64(len(toks))
			if chars != nil {
				appendChars(v.Chars, toks, chars, clens)
			}
		}
	}
	if v.Feature != nil {
		fb := next().(*array.ListBuilder)
		vb := fb.ValueBuilder().(*array.Int32Builder)
		for i := 0; i < n; i++ {
			fb.Append(true)
			toks = appendList(toks[:0], c.feature, i)
			for _, f := range toks {
				id, ok := v.Feature.ID(f)
				if !ok {
					id = UnkID
				}
				vb.Append(id)
			}
		}
	}
	if v.Vector > 0 {
		lb := next().(*array.ListBuilder)
		vb := lb.ValueBuilder().(*array.Float32Builder)
		for i := 0; i < n; i++ {
			xs, err := parseVector(listStrings(c.vector, i), v.Vector)
			if err != nil {
				return nil, st, &Error{Line: int(c.row.Value(i)), Err: err}
			}
			lb.Append(true)
			vb.AppendValues(xs, nil)
		}
	}
	if v.Tags != nil {
		tb := next().(*array.ListBuilder)
		vb := tb.ValueBuilder().(*array.Int32Builder)
		all, offs := batchText(c.tags.ListValues().(*array.String))
		for i := 0; i < n; i++ {
			tb.Append(true)
			j0, j1 := c.tags.ValueOffsets(i)
			rowIDs = rowIDs[:0]
			for j := j0; j < j1; j++ {
				a, b := int(offs[j]-offs[0]), int(offs[j+1]-offs[0])
				id, ok := v.Tags.idAt(all, a, b)
				if !ok {
					id = labelID(v.Tags, all[a:b], &st.UnknownTags)
				}
				rowIDs = append(rowIDs, id)
			}
			vb.AppendValues(rowIDs, nil)
		}
	}
	if v.Labels != nil {
		lb := next().(*array.Int32Builder)
		for i := 0; i < n; i++ {
			lb.Append(labelID(v.Labels, c.label.Value(i), &st.UnknownLabels))
		}
	}
	if v.Target != nil {
		tb, lens := next().(*array.ListBuilder), next().(*array.Int32Builder)
		vb := tb.ValueBuilder().(*array.Int32Builder)
		for i := 0; i < n; i++ {
			toks = e.Tokenizer.TargetTokens(toks[:0], c.target.Value(i))
			if len(toks) > maxTok {
				return nil, st, tooManyTokens(int(c.row.Value(i)), "target", len(toks), maxTok)
			}
			tb.Append(true)
			vb.Append(BOSID)
			for _, t := range toks {
				id, ok := v.Target.ID(t)
				if !ok {
					id = UnkID
					st.UnknownTargets++
				}
				vb.Append(id)
			}
			vb.Append(EOSID)
			lens.Append(int32(len(toks) + 2))
			st.TargetTokens += int64(len(toks))
		}
	}
	st.Rows = int64(n)
	out := b.NewRecordBatch()
	if kept {
		reserve(b, out)
	}
	return out, st, nil
}

func (e *Encoder) mem() memory.Allocator {
	if e.Mem == nil {
		return memory.DefaultAllocator
	}
	return e.Mem
}

// appendChars appends the character ids of one row's tokens and their lengths.
func appendChars(v *Vocab, toks []string, chars, lens *array.ListBuilder) {
	cb, lb := chars.ValueBuilder().(*array.Int32Builder), lens.ValueBuilder().(*array.Int32Builder)
	chars.Append(true)
	lens.Append(true)
	for _, t := range toks {
		n := int32(0)
		for _, r := range t {
			id, ok := v.ID(string(r))
			if !ok {
				id = UnkID
			}
			cb.Append(id)
			n++
		}
		lb.Append(n)
	}
}

func labelID(v *Vocab, s string, unknown *map[string]int) int32 {
	if id, ok := v.ID(s); ok {
		return id
	}
	if *unknown == nil {
		*unknown = map[string]int{}
	}
	if _, seen := (*unknown)[s]; !seen {
		s = strings.Clone(s) // not a part of the batch's buffer, which it would keep
	}
	(*unknown)[s]++
	return -1
}

// BuildVocabs counts the records of a training split and builds its vocabularies:
// the input (and target) vocabulary bounded by cfg, the tag and label vocabularies
// with every value seen.
func BuildVocabs(r array.RecordReader, tok *Tokenizer, cfg VocabConfig) (Vocabs, error) {
	c, err := CountVocabs(r, tok, cfg)
	if err != nil {
		return Vocabs{}, err
	}
	return c.Build(cfg)
}

// VocabCounts is what building vocabularies counts in training records. The
// counts of the shards of a split, merged in any order ([VocabCounts.Merge]),
// equal the counts of the whole split, so vocabularies built by a distributed
// job are those of one process: [Counter.Build] breaks ties by bytes, not by
// the order tokens were seen.
type VocabCounts struct {
	Input, Tags, Labels, Target, Chars, Feature Counter
	// Has says which roles the records held (a role may hold no token).
	HasInput, HasTags, HasLabels, HasTarget, HasFeature bool
	// Vector is the vector length of the first row (by order key) that has
	// one, VectorKey that row's order key; VectorKey is -1 without one.
	Vector    int
	VectorKey int64
}

// NewVocabCounts returns empty counts.
func NewVocabCounts() VocabCounts {
	return VocabCounts{Input: Counter{}, Tags: Counter{}, Labels: Counter{}, Target: Counter{}, Chars: Counter{}, Feature: Counter{}, VectorKey: -1}
}

// CountVocabs counts the records of r (a training split, or one shard of it).
// An example over cfg.Limits' token bound, and more distinct values than its
// vocabulary bound, are errors.
func CountVocabs(r array.RecordReader, tok *Tokenizer, cfg VocabConfig) (VocabCounts, error) {
	vc := NewVocabCounts()
	var toks []string
	var spans []int
	e := &Encoder{Tokenizer: tok}
	maxTok, maxVocab := cfg.Limits.Tokens(), cfg.Limits.Vocab()
	for r.Next() {
		rec := r.RecordBatch()
		c, err := columnsOf(rec)
		if err != nil {
			return vc, err
		}
		vc.HasInput = vc.HasInput || c.text != nil || c.tokens != nil
		vc.HasTags = vc.HasTags || c.tags != nil
		vc.HasLabels = vc.HasLabels || c.label != nil
		vc.HasTarget = vc.HasTarget || c.target != nil
		vc.HasFeature = vc.HasFeature || c.feature != nil
		plain := c.tokens == nil && c.text != nil && !cfg.Chars && tok.plain()
		for i := 0; i < int(rec.NumRows()); i++ {
			if plain {
				// As Encode: tokens counted by their offsets in the text.
				text := c.text.Value(i)
				spans = fieldSpans(spans[:0], text)
				for k := 0; k+1 < len(spans); k += 2 {
					vc.Input.Add(text[spans[k]:spans[k+1]])
				}
				if n := len(spans) / 2; n > maxTok {
					return vc, tooManyTokens(int(c.row.Value(i)), "input", n, maxTok)
				}
			} else if c.text != nil || c.tokens != nil {
				toks = e.inputTokens(c, i, toks)
				if len(toks) > maxTok {
					return vc, tooManyTokens(int(c.row.Value(i)), "input", len(toks), maxTok)
				}
				vc.Input.Add(toks...)
				if cfg.Chars {
					for _, t := range toks {
						for _, r := range t {
							vc.Chars[string(r)]++
						}
					}
				}
			}
			if c.tags != nil {
				vc.Tags.Add(listStrings(c.tags, i)...)
			}
			if c.feature != nil {
				vc.Feature.Add(listStrings(c.feature, i)...)
			}
			if c.label != nil {
				vc.Labels.Add(c.label.Value(i))
			}
			if c.vector != nil && vc.VectorKey < 0 {
				n := len(listStrings(c.vector, i))
				if n == 0 || n > maxVector {
					return vc, &Error{Line: int(c.row.Value(i)), Err: fmt.Errorf("the vector column has %d numbers; want 1 to %d", n, maxVector)}
				}
				vc.Vector, vc.VectorKey = n, c.key(i)
			}
			if c.target != nil {
				toks = tok.TargetTokens(toks[:0], c.target.Value(i))
				if len(toks) > maxTok {
					return vc, tooManyTokens(int(c.row.Value(i)), "target", len(toks), maxTok)
				}
				vc.Target.Add(toks...)
			}
		}
		// Checked per record batch: a vocabulary overshoots by one batch at most.
		if vc.distinct() > maxVocab {
			return vc, &Error{Line: int(c.row.Value(int(rec.NumRows()) - 1)), Err: errTooManyDistinct(maxVocab)}
		}
	}
	return vc, r.Err()
}

func errTooManyDistinct(limit int) error {
	return fmt.Errorf("more than %d distinct tokens or labels by this line, the limit (data.limits.max_vocab): is a column mapped wrong? else raise the limit", limit)
}

func (vc *VocabCounts) distinct() int {
	return max(len(vc.Input), len(vc.Target), len(vc.Chars), len(vc.Tags), len(vc.Labels), len(vc.Feature))
}

// key is the order key of row i.
func (c roleColumns) key(i int) int64 {
	shard := 0
	if c.shard != nil {
		shard = int(c.shard.Value(i))
	}
	return orderKey(shard, int(c.row.Value(i)))
}

// Merge adds the counts of o (another shard) to vc.
func (vc *VocabCounts) Merge(o VocabCounts) {
	for _, p := range []struct{ dst, src Counter }{{vc.Input, o.Input}, {vc.Tags, o.Tags}, {vc.Labels, o.Labels}, {vc.Target, o.Target}, {vc.Chars, o.Chars}, {vc.Feature, o.Feature}} {
		for k, n := range p.src {
			p.dst[k] += n
		}
	}
	vc.HasInput = vc.HasInput || o.HasInput
	vc.HasTags = vc.HasTags || o.HasTags
	vc.HasLabels = vc.HasLabels || o.HasLabels
	vc.HasTarget = vc.HasTarget || o.HasTarget
	vc.HasFeature = vc.HasFeature || o.HasFeature
	if o.VectorKey >= 0 && (vc.VectorKey < 0 || o.VectorKey < vc.VectorKey) {
		vc.Vector, vc.VectorKey = o.Vector, o.VectorKey
	}
}

// Build makes the vocabularies of the counts, bounded by cfg.
func (vc VocabCounts) Build(cfg VocabConfig) (Vocabs, error) {
	if n := vc.distinct(); n > cfg.Limits.Vocab() {
		return Vocabs{}, fmt.Errorf("pipeline: %d distinct tokens or labels, more than the limit %d (data.limits.max_vocab): is a column mapped wrong? else raise the limit", n, cfg.Limits.Vocab())
	}
	var v Vocabs
	if vc.HasInput {
		v.Input = vc.Input.Build(cfg)
		if cfg.Chars {
			v.Chars = vc.Chars.Build(VocabConfig{})
		}
	}
	if vc.HasTags {
		v.Tags = vc.Tags.BuildLabels()
	}
	if vc.HasFeature {
		v.Feature = vc.Feature.Build(VocabConfig{})
	}
	if vc.HasLabels {
		v.Labels = vc.Labels.BuildLabels()
	}
	v.Vector = vc.Vector
	if vc.HasTarget {
		v.Target = vc.Target.Build(cfg)
	}
	return v, nil
}

// VocabsOf opens a training source and builds its vocabularies with [BuildVocabs].
func VocabsOf(src Source, tok *Tokenizer, cfg VocabConfig, opts ...Option) (Vocabs, error) {
	r, err := Open(src, opts...)
	if err != nil {
		return Vocabs{}, err
	}
	defer r.Release()
	v, err := BuildVocabs(r, tok, cfg)
	return v, withPath(err, src.Path)
}

// withPath names the file in an [Error] raised where it was not known.
func withPath(err error, path string) error {
	var e *Error
	if errors.As(err, &e) && e.Path == "" {
		e.Path = path
	}
	return err
}

// EncodeAll reads every record of r, encodes the records on workers goroutines
// (0: one per CPU) and hands the encoded records to emit in the order they were
// read. At most 2·workers records are in flight, which bounds memory. emit must not
// keep the record without retaining it.
func (e *Encoder) EncodeAll(r array.RecordReader, workers int, emit func(arrow.RecordBatch) error) (EncodeStats, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	type job struct {
		rec  arrow.RecordBatch
		done chan result
	}
	jobs := make(chan job)
	order := make(chan chan result, 2*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := array.NewRecordBuilder(e.mem(), e.schema(r.Schema().HasField(ShardField)))
			defer b.Release()
			for j := range jobs {
				out, st, err := e.encode(j.rec, b)
				j.rec.Release()
				j.done <- result{out, st, err}
			}
		}()
	}
	// The reader feeds jobs in order; the loop below collects results in order.
	stop := make(chan struct{})
	var readErr error
	go func() {
		defer close(order)
		defer close(jobs)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if !r.Next() {
				break
			}
			rec := r.RecordBatch()
			rec.Retain()
			done := make(chan result, 1)
			select {
			case order <- done:
			case <-stop:
				rec.Release()
				return
			}
			jobs <- job{rec, done}
		}
		readErr = r.Err()
	}()
	var total EncodeStats
	var firstErr error
	for done := range order {
		res := <-done
		if res.err == nil && firstErr == nil {
			res.err = emit(res.rec)
			total.Add(res.st)
		}
		if res.rec != nil {
			res.rec.Release()
		}
		if res.err != nil && firstErr == nil {
			firstErr = res.err
			close(stop)
		}
	}
	wg.Wait()
	if firstErr != nil {
		return total, firstErr
	}
	return total, readErr
}

type result struct {
	rec arrow.RecordBatch
	st  EncodeStats
	err error
}

// parseVector reads a vector of n numbers.
func parseVector(fields []string, n int) ([]float32, error) {
	if len(fields) != n {
		return nil, fmt.Errorf("the vector has %d numbers, the training data %d", len(fields), n)
	}
	return ParseVector(fields)
}

// ParseVector reads the numbers of a vector: finite, as float32.
func ParseVector(fields []string) ([]float32, error) {
	n := len(fields)
	xs := make([]float32, n)
	for k, f := range fields {
		x, err := strconv.ParseFloat(f, 32)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("vector item %d: %s is not a finite number", k+1, quote.Q(f))
		}
		xs[k] = float32(x)
	}
	return xs, nil
}

// batchText returns the text of a string column's rows as one string, and
// its offsets: row i is all[offs[i]-offs[0] : offs[i+1]-offs[0]]. The string
// shares the column's buffer, as arrow's own String.Value does; no one
// writes to a built record's buffers.
func batchText(col *array.String) (all string, offs []int32) {
	b := col.ValueBytes()
	return unsafe.String(unsafe.SliceData(b), len(b)), col.ValueOffsets()
}
