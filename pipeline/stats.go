package pipeline

import (
	"slices"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// Summary describes an encoded dataset, for `seqkit data inspect`.
type Summary struct {
	Rows   int
	Tokens int64
	// Length percentiles of the input sequences (nearest rank).
	MinLen, P50, P90, P99, MaxLen int
	MeanLen                       float64
	// OOVRate is the share of input tokens that are <unk>.
	OOVRate float64
	// Labels and Tags count each value by name; "?" counts values unknown to the
	// vocabulary (seen only outside the training split).
	Labels map[string]int
	Tags   map[string]int
}

// Summarize counts rows, tokens, lengths, unknown tokens and label distributions.
func Summarize(ds *Dataset, v Vocabs) Summary {
	var s Summary
	var lengths []int
	var unk int64
	count := func(m *map[string]int, voc *Vocab, id int32) {
		if *m == nil {
			*m = map[string]int{}
		}
		name := "?"
		if voc != nil && id >= 0 && int(id) < voc.Len() {
			name = voc.Token(id)
		}
		(*m)[name]++
	}
	for _, rec := range ds.Records() {
		for i, f := range rec.Schema().Fields() {
			switch c := rec.Column(i).(type) {
			case *array.Int32:
				for r := 0; r < c.Len(); r++ {
					switch f.Name {
					case LengthField:
						lengths = append(lengths, int(c.Value(r)))
					case LabelField:
						count(&s.Labels, v.Labels, c.Value(r))
					}
				}
			case *array.List:
				if f.Name != IDsField && f.Name != TagsField {
					continue
				}
				vals := c.ListValues().(*array.Int32).Int32Values()
				off := c.Offsets()
				vals = vals[off[0]:off[len(off)-1]]
				switch f.Name {
				case IDsField:
					for _, id := range vals {
						if id == UnkID {
							unk++
						}
					}
				case TagsField:
					for _, id := range vals {
						count(&s.Tags, v.Tags, id)
					}
				}
			}
		}
	}
	s.Rows = len(lengths)
	if s.Rows == 0 {
		return s
	}
	slices.Sort(lengths)
	rank := func(p float64) int { return lengths[min(len(lengths)-1, int(p*float64(len(lengths))))] }
	for _, l := range lengths {
		s.Tokens += int64(l)
	}
	s.MinLen, s.MaxLen = lengths[0], lengths[len(lengths)-1]
	s.P50, s.P90, s.P99 = rank(0.5), rank(0.9), rank(0.99)
	s.MeanLen = float64(s.Tokens) / float64(s.Rows)
	if s.Tokens > 0 {
		s.OOVRate = float64(unk) / float64(s.Tokens)
	}
	return s
}

// IDCounts counts each input id of ds (the ids column), for ids below n; an
// id outside [0, n) is not counted.
func IDCounts(ds *Dataset, n int) []int64 {
	counts := make([]int64, n)
	for _, rec := range ds.Records() {
		for i, f := range rec.Schema().Fields() {
			if f.Name != IDsField {
				continue
			}
			for _, id := range rec.Column(i).(*array.List).ListValues().(*array.Int32).Int32Values() {
				if id >= 0 && int(id) < n {
					counts[id]++
				}
			}
		}
	}
	return counts
}
