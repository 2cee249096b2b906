package pipeline

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/seqkit/seqkit/internal/quote"

	"github.com/seqkit/seqkit/internal/atomicfile"
)

// The special tokens of an input vocabulary, always at these ids.
const (
	PadID int32 = 0
	UnkID int32 = 1
	BOSID int32 = 2
	EOSID int32 = 3
)

// Specials are the tokens at ids 0 to 3.
var Specials = []string{"<pad>", "<unk>", "<bos>", "<eos>"}

// VocabConfig bounds a vocabulary built from counts. The zero value keeps every
// token seen.
type VocabConfig struct {
	// MinFreq drops tokens seen fewer times (0 and 1 keep all).
	MinFreq int `json:"min_freq,omitempty"`
	// MaxSize caps the number of entries, specials included (0: no cap).
	MaxSize int `json:"max_size,omitempty"`
	// Chars also builds the vocabulary of the characters of input tokens
	// ([Vocabs].Chars). Tasks set it when the model reads characters.
	Chars bool `json:"-"`
	// Limits bound the examples and the number of distinct tokens counted
	// (data.limits in a recipe).
	Limits Limits `json:"-"`
}

// Vocab maps tokens to dense int32 ids. An input vocabulary starts with [Specials];
// a label vocabulary (tags, classes) has none, and an unknown label has no id.
type Vocab struct {
	tokens   []string
	ids      map[string]int32
	short    *shortIDs // the entries of ids of at most shortMax bytes, for ID
	specials bool
}

// Counter counts tokens, for building a vocabulary from the training split only.
type Counter map[string]int

// Add counts each token once. A token seen for the first time is copied: a
// token cut from a row's text, or read from an Arrow buffer, would otherwise
// keep that memory for as long as the counter lives.
func (c Counter) Add(tokens ...string) {
	for _, t := range tokens {
		if n, ok := c[t]; ok {
			c[t] = n + 1
		} else {
			c[strings.Clone(t)] = 1
		}
	}
}

// Build returns an input vocabulary: the specials, then the counted tokens by
// descending count (ties in byte order, so the result does not depend on map order),
// filtered by cfg.
func (c Counter) Build(cfg VocabConfig) *Vocab {
	return newVocab(Specials, c.sorted(cfg.MinFreq), cfg.MaxSize, true)
}

// BuildLabels returns a label vocabulary: no specials, every label seen, by
// descending count then byte order.
func (c Counter) BuildLabels() *Vocab {
	return newVocab(nil, c.sorted(0), 0, false)
}

func (c Counter) sorted(minFreq int) []string {
	toks := make([]string, 0, len(c))
	for t, n := range c {
		if n >= minFreq {
			toks = append(toks, t)
		}
	}
	slices.SortFunc(toks, func(a, b string) int {
		if d := cmp.Compare(c[b], c[a]); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return toks
}

func newVocab(specials, toks []string, maxSize int, hasSpecials bool) *Vocab {
	v := &Vocab{ids: map[string]int32{}, specials: hasSpecials}
	for _, t := range append(slices.Clone(specials), toks...) {
		if maxSize > 0 && len(v.tokens) >= maxSize {
			break
		}
		if _, dup := v.ids[t]; dup {
			continue // a special that also occurs in the data
		}
		v.ids[t] = int32(len(v.tokens))
		v.tokens = append(v.tokens, t)
	}
	v.short = newShortIDs(v.ids)
	return v
}

// NewVocab returns the vocabulary of tokens in id order (what [Vocab.Tokens]
// returned); specials says that it starts with [Specials]. Duplicates are an
// error.
func NewVocab(tokens []string, specials bool) (*Vocab, error) {
	if specials && (len(tokens) < len(Specials) || !slices.Equal(tokens[:len(Specials)], Specials)) {
		return nil, errors.New("pipeline: the vocabulary does not start with the special symbols")
	}
	v := newVocab(nil, tokens, 0, specials)
	if v.Len() != len(tokens) {
		return nil, errors.New("pipeline: duplicate entries in the vocabulary")
	}
	return v, nil
}

// Extend returns the vocabulary with the tokens it lacks of toks appended, in
// their order, until it holds maxSize entries (0: no bound): the words of
// pretrained vectors the training data did not have. The ids of v's own
// tokens do not change.
func (v *Vocab) Extend(toks []string, maxSize int) *Vocab {
	if maxSize > 0 {
		maxSize = max(maxSize, v.Len()) // v's own entries all stay
	}
	return newVocab(v.tokens, toks, maxSize, v.specials)
}

// Len is the number of entries.
func (v *Vocab) Len() int { return len(v.tokens) }

// Token returns the token of id.
func (v *Vocab) Token(id int32) string { return v.tokens[id] }

// ID returns the id of tok and whether it is in the vocabulary.
func (v *Vocab) ID(tok string) (int32, bool) {
	if len(tok) <= shortMax && v.short != nil { // nil in the zero Vocab
		return v.short.get(tok)
	}
	id, ok := v.ids[tok]
	return id, ok
}

// idAt is ID(s[a:b]), the encoder's lookup of a token in a batch's text.
func (v *Vocab) idAt(s string, a, b int) (int32, bool) {
	if n := b - a; n <= shortMax && a+shortMax <= len(s) && v.short != nil {
		k0, k1 := windowKey(s, a, n)
		return v.short.getKey(k0, k1, n)
	}
	return v.ID(s[a:b])
}

// HasSpecials reports whether this is an input vocabulary (with [Specials]).
func (v *Vocab) HasSpecials() bool { return v.specials }

// Tokens returns the entries in id order.
func (v *Vocab) Tokens() []string { return slices.Clone(v.tokens) }

// Save writes one token per line, in id order, atomically (temporary file, fsync,
// rename). A backslash and the line breaks of a token are written as \\, \n and
// \r (a character model of a text stream has the line break as a token).
func (v *Vocab) Save(path string) error {
	var b strings.Builder
	for _, t := range v.tokens {
		b.WriteString(vocabEscaper.Replace(t))
		b.WriteByte('\n')
	}
	return WriteFileAtomic(path, []byte(b.String()))
}

var (
	vocabEscaper   = strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`)
	vocabUnescaper = strings.NewReplacer(`\\`, `\`, `\n`, "\n", `\r`, "\r")
)

// LoadVocab reads a vocabulary written by [Vocab.Save]. It is an input vocabulary
// when its first entries are [Specials]. A file of more than maxEntries lines
// (0: [DefaultMaxVocab]) is refused as it is read.
func LoadVocab(path string, maxEntries int) (*Vocab, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	defer f.Close()
	var toks []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), DefaultMaxLineBytes)
	maxEntries = Limits{MaxVocab: maxEntries}.Vocab()
	for sc.Scan() {
		if len(toks) == maxEntries {
			return nil, badf(path, len(toks)+1, 0, "more than %d entries, the limit (data.limits.max_vocab): not a vocabulary seqkit wrote, or raise the limit", maxEntries)
		}
		toks = append(toks, vocabUnescaper.Replace(sc.Text()))
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, badf(path, len(toks)+1, 0, "line longer than %d bytes: not a vocabulary seqkit wrote", DefaultMaxLineBytes)
		}
		return nil, fmt.Errorf("pipeline: %s: %w", path, err)
	}
	specials := len(toks) >= len(Specials) && slices.Equal(toks[:len(Specials)], Specials)
	v := newVocab(nil, toks, 0, specials)
	if v.Len() != len(toks) {
		seen := map[string]int{}
		for i, t := range toks {
			if at, dup := seen[t]; dup {
				return nil, badf(path, i+1, 0, "entry %s repeats line %d: the vocabulary file is damaged; retrain, or restore it from the run it came from", quote.Q(t), at)
			}
			seen[t] = i + 1
		}
		return nil, &Error{Path: path, Err: errors.New("duplicate entries")}
	}
	return v, nil
}

// ErrTooLarge is wrapped by ReadFileLimited's error for a file over its bound.
var ErrTooLarge = errors.New("larger than its bound")

// ReadFileLimited reads a file of at most max bytes, refusing a larger one
// before it is read whole: for the small files seqkit reads back (a run's
// state, lock files), which a damaged or hostile folder may have grown.
func ReadFileLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(b)) > max {
		err = fmt.Errorf("%s: more than %d bytes: %w", path, max, ErrTooLarge)
	}
	return b, err
}

// WriteFileAtomic writes data to path through a temporary file in the same folder,
// fsync and rename, so a crash leaves the old file or the new one, never a part.
func WriteFileAtomic(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data); err != nil {
		return fmt.Errorf("pipeline: writing %s: %w", path, err)
	}
	return nil
}
