package pipeline

import (
	"maps"
	"slices"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// Profile is what data inspect counts in read records, without encoding
// them. The profiles of a source's shards, merged in any order
// ([Profile.Merge]), equal the profile of the whole source, so a
// distributed inspection reports what one process does; lengths are kept as
// a histogram (they are bounded integers), so the percentiles are exact too.
type Profile struct {
	Rows    int64
	Tokens  int64
	Lengths map[int]int64 // input length → rows
	Input   Counter       // input tokens
	Target  Counter       // target tokens
	Labels  Counter
	Tags    Counter
	// Unknown counts input tokens missing from the vocabulary given to
	// [ProfileRecords] (none given: 0).
	Unknown int64
}

// NewProfile returns an empty profile.
func NewProfile() Profile {
	return Profile{Lengths: map[int]int64{}, Input: Counter{}, Target: Counter{}, Labels: Counter{}, Tags: Counter{}}
}

// ProfileRecords profiles the records of r (a source or one shard of it),
// tokenized by tok; vocab, when set, is what unknown tokens are counted
// against. The limits bound tokens per example and distinct values, as
// reading a training split does.
func ProfileRecords(r array.RecordReader, tok *Tokenizer, vocab *Vocab, lim Limits) (Profile, error) {
	p := NewProfile()
	e := &Encoder{Tokenizer: tok}
	maxTok, maxVocab := lim.Tokens(), lim.Vocab()
	var toks []string
	for r.Next() {
		rec := r.RecordBatch()
		c, err := columnsOf(rec)
		if err != nil {
			return p, err
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			p.Rows++
			if c.text != nil || c.tokens != nil {
				toks = e.inputTokens(c, i, toks)
				if len(toks) > maxTok {
					return p, tooManyTokens(int(c.row.Value(i)), "input", len(toks), maxTok)
				}
				p.Input.Add(toks...)
				p.Tokens += int64(len(toks))
				p.Lengths[len(toks)]++
				if vocab != nil {
					for _, t := range toks {
						if _, ok := vocab.ID(t); !ok {
							p.Unknown++
						}
					}
				}
			}
			if c.target != nil {
				toks = tok.TargetTokens(toks[:0], c.target.Value(i))
				p.Target.Add(toks...)
			}
			if c.label != nil {
				p.Labels.Add(c.label.Value(i))
			}
			if c.tags != nil {
				p.Tags.Add(listStrings(c.tags, i)...)
			}
		}
		if n := max(len(p.Input), len(p.Target), len(p.Labels), len(p.Tags)); n > maxVocab {
			return p, &Error{Line: int(c.row.Value(int(rec.NumRows()) - 1)), Err: errTooManyDistinct(maxVocab)}
		}
	}
	return p, r.Err()
}

// Merge adds o (another shard's profile) to p.
func (p *Profile) Merge(o Profile) {
	p.Rows += o.Rows
	p.Tokens += o.Tokens
	p.Unknown += o.Unknown
	for l, n := range o.Lengths {
		p.Lengths[l] += n
	}
	for _, c := range []struct{ dst, src Counter }{{p.Input, o.Input}, {p.Target, o.Target}, {p.Labels, o.Labels}, {p.Tags, o.Tags}} {
		for k, n := range c.src {
			c.dst[k] += n
		}
	}
}

// Summary is the profile's summary: lengths by nearest rank, as [Summarize]
// gives them.
func (p Profile) Summary() Summary {
	s := Summary{Rows: int(p.Rows), Tokens: p.Tokens}
	if len(p.Labels) > 0 {
		s.Labels = maps.Clone(p.Labels)
	}
	if len(p.Tags) > 0 {
		s.Tags = maps.Clone(p.Tags)
	}
	var rows int64
	for _, n := range p.Lengths {
		rows += n
	}
	if rows == 0 {
		return s
	}
	lens := slices.Sorted(maps.Keys(p.Lengths))
	// rank returns the length at position k of the sorted lengths.
	rank := func(k int64) int {
		for _, l := range lens {
			if k < p.Lengths[l] {
				return l
			}
			k -= p.Lengths[l]
		}
		return lens[len(lens)-1]
	}
	at := func(q float64) int { return rank(min(rows-1, int64(q*float64(rows)))) }
	s.MinLen, s.MaxLen = lens[0], lens[len(lens)-1]
	s.P50, s.P90, s.P99 = at(0.5), at(0.9), at(0.99)
	s.MeanLen = float64(p.Tokens) / float64(rows)
	if p.Tokens > 0 {
		s.OOVRate = float64(p.Unknown) / float64(p.Tokens)
	}
	return s
}
