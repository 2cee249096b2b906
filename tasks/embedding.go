package tasks

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/recipes"
)

// Embedder is a task whose model reads tokens through an input embedding that
// pretrained word vectors can fill (model.embedding_init): the built-in tasks.
type Embedder interface {
	InputEmbedding() *nn.Embedding[float32]
}

// Coverage says how much of a run's input vocabulary, and of its training
// tokens, model.embedding_init found vectors for. A run writes it to
// embedding_init.json when it starts, and report.md shows it.
type Coverage struct {
	File string `json:"file"`
	// Words are the input vocabulary's entries but the specials; Found of
	// them have a vector, Lower of those by their lower-case form.
	Words int `json:"words"`
	Found int `json:"found"`
	Lower int `json:"lower,omitempty"`
	// Tokens are the training split's input tokens; Covered of them are of
	// words with a vector (<unk> is not).
	Tokens  int64 `json:"tokens"`
	Covered int64 `json:"covered"`
	// Added are the words extend_vocab added from the file.
	Added  int  `json:"added,omitempty"`
	Frozen bool `json:"frozen,omitempty"`
}

// CoverageFile is where a run keeps its Coverage.
const CoverageFile = "embedding_init.json"

// Text is the coverage as one line.
func (c Coverage) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d words (%.1f%%) and %.1f%% of the training tokens have a vector in %s", c.Found, c.Words, share(int64(c.Found), int64(c.Words)), share(c.Covered, c.Tokens), filepath.Base(c.File))
	if c.Lower > 0 {
		fmt.Fprintf(&b, " (%d by their lower-case form)", c.Lower)
	}
	if c.Added > 0 {
		fmt.Fprintf(&b, "; %d words added from the file (extend_vocab)", c.Added)
	}
	if c.Frozen {
		b.WriteString("; frozen")
	}
	return b.String()
}

func share(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// ReadCoverage reads the run's Coverage; nil when it has none.
func ReadCoverage(dir string) (*Coverage, error) {
	b, err := pipeline.ReadFileLimited(filepath.Join(dir, CoverageFile), 1<<16)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c Coverage
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, CoverageFile), err)
	}
	return &c, nil
}

// vectorsFor reads the file's vectors of the words of v (and of their
// lower-case forms with lower).
func vectorsFor(e *recipes.EmbeddingInit, v *pipeline.Vocab) (*pipeline.Vectors, error) {
	want := map[string]bool{}
	for _, w := range v.Tokens() {
		want[w] = true
		if e.Lower {
			want[strings.ToLower(w)] = true
		}
	}
	opt := pipeline.VectorsOptions{Format: pipeline.VectorFormat(e.Format), MaxWords: len(want), Keep: func(w string) bool { return want[w] }}
	vecs, err := pipeline.ReadVectors(e.Path, opt)
	if err != nil {
		return nil, fmt.Errorf("model.embedding_init: %w", err)
	}
	return vecs, nil
}

// extendVocab adds the words of the vectors file that v lacks, up to maxSize
// entries in all (0: up to the limit on distinct tokens).
func extendVocab(e *recipes.EmbeddingInit, v *pipeline.Vocab, maxSize int) (*pipeline.Vocab, int, error) {
	// Only the words are wanted here: Keep gathers them and keeps no vector,
	// so a file of a million words costs their strings, not their numbers.
	var words []string
	opt := pipeline.VectorsOptions{Format: pipeline.VectorFormat(e.Format), Keep: func(w string) bool {
		if len(words) < maxSize {
			words = append(words, w)
		}
		return false
	}}
	if _, err := pipeline.ReadVectors(e.Path, opt); err != nil {
		return nil, 0, fmt.Errorf("model.embedding_init: %w", err)
	}
	out := v.Extend(words, maxSize)
	return out, out.Len() - v.Len(), nil
}

// initEmbedding fills the task's input embedding with the vectors of
// model.embedding_init, row by row for the words the file has (exactly, or
// lower-cased with lower), and returns the coverage, which it writes to the
// run directory. Words without a vector keep their random row.
func initEmbedding(r *recipes.Recipe, task Task, data *Data, dir string) (*Coverage, error) {
	e := r.Model.EmbeddingInit
	em, ok := task.(Embedder)
	if !ok {
		return nil, fmt.Errorf("%w: model.embedding_init: the %s task has no input embedding to fill", recipes.ErrRecipe, task.Info().Name)
	}
	emb, v := em.InputEmbedding(), data.Vocabs.Input
	if emb == nil || v == nil || emb.Vocab != v.Len() {
		return nil, fmt.Errorf("%w: model.embedding_init: the model has no input embedding of the input vocabulary", recipes.ErrRecipe)
	}
	vecs, err := vectorsFor(e, v)
	if err != nil {
		return nil, err
	}
	if vecs.Dim != emb.Dim {
		return nil, fmt.Errorf("%w: model.embedding is %d, but the vectors of %s have %d numbers: set model.embedding: %d", recipes.ErrRecipe, emb.Dim, e.Path, vecs.Dim, vecs.Dim)
	}
	index := make(map[string]int, len(vecs.Words))
	for i, w := range vecs.Words {
		index[w] = i
	}
	c := &Coverage{File: e.Path, Frozen: e.Freeze, Added: data.Added}
	found := make([]bool, v.Len())
	for id := len(pipeline.Specials); id < v.Len(); id++ {
		w := v.Token(int32(id))
		c.Words++
		i, ok := index[w]
		if !ok && e.Lower {
			if i, ok = index[strings.ToLower(w)]; ok {
				c.Lower++
			}
		}
		if !ok {
			continue
		}
		copy(emb.W.Data[id*emb.Dim:(id+1)*emb.Dim], vecs.Vector(i))
		found[id] = true
		c.Found++
	}
	if data.Train != nil {
		for id, n := range pipeline.IDCounts(data.Train, v.Len()) {
			c.Tokens += n
			if found[id] {
				c.Covered += n
			}
		}
	}
	b, _ := json.MarshalIndent(c, "", "  ")
	if err := pipeline.WriteFileAtomic(filepath.Join(dir, CoverageFile), append(b, '\n')); err != nil {
		return nil, err
	}
	return c, nil
}
