package recipes

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/pipeline/synth"
)

// Materialize writes the splits of a generated dataset (data.generate, made
// by package synth) into dir and points the recipe's data at them. A recipe
// without data.generate is left as it is.
func (r *Recipe) Materialize(dir string) error {
	g := r.Data.Generate
	if g == nil {
		return nil
	}
	var (
		splits [3][]byte
		src    Source // of every split, but its path
		ext    string
	)
	switch g.Name {
	case "taipei":
		for i, n := range []int{g.Train, g.Dev, g.Test} {
			splits[i] = synth.TaipeiCoNLL(n, g.Seed, uint64(i))
		}
		src, ext = Source{Format: pipeline.CoNLL}, ".conll"
	case "reverse":
		for i, n := range []int{g.Train, g.Dev, g.Test} {
			splits[i] = synth.ReverseTSV(n, g.Seed, uint64(i))
		}
		src, ext = Source{Format: pipeline.TSV, NoHeader: true, Columns: Columns{Text: "1", Target: "2"}}, ".tsv"
	case "windows":
		w := g.Windows
		if w == nil {
			return fmt.Errorf("recipes: data.generate: the windows generator needs windows: {source, column, context, horizon, …}")
		}
		var err error
		if splits, err = synth.Windows(w.Source, w.Column, w.Label, w.Context, w.Horizon, w.TestShare, w.DevShare); err != nil {
			return fmt.Errorf("recipes: data.generate.windows: %w", err)
		}
		src, ext = Source{Format: pipeline.JSONL, Columns: Columns{Text: "text", Vector: "vector"}}, ".jsonl"
	default:
		return fmt.Errorf("recipes: unknown generator %q", g.Name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, dst := range []*Source{&r.Data.Train, &r.Data.Dev, &r.Data.Test} {
		p := filepath.Join(dir, []string{"train", "dev", "test"}[i]+ext)
		if err := pipeline.WriteFileAtomic(p, splits[i]); err != nil {
			return err
		}
		*dst = src
		dst.Path, dst.Content = p, contentKey(splits[i])
	}
	return nil
}

// contentKey identifies a generated split by its content (pipeline.Source.Content).
func contentKey(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
