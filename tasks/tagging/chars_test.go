package tagging_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seqkit/seqkit/tasks/tasktest"
)

// suffixData writes CoNLL sentences whose tags depend only on a word's ending
// ("-ing" verbs, "-tion" nouns), with dev words never seen in training.
func suffixData(t *testing.T, dir, name string, n int, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 1))
	syll := []string{"ka", "lo", "mi", "ru", "te", "sa", "po", "ne", "vi", "da"}
	var b strings.Builder
	for range n {
		for range 3 + rng.IntN(5) {
			w := ""
			for range 2 + rng.IntN(2) {
				w += syll[rng.IntN(len(syll))]
			}
			// Training words start with a consonant-vowel pair from the first half
			// of the syllables, dev words from the second: no overlap.
			w = syll[int(seed%2)*5+rng.IntN(5)] + w
			tag := "O"
			switch rng.IntN(3) {
			case 0:
				w, tag = w+"ing", "B-V"
			case 1:
				w, tag = w+"tion", "B-N"
			}
			fmt.Fprintf(&b, "%s\t%s\n", w, tag)
		}
		b.WriteString("\n")
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCharFeatures checks that character features tag words never seen in
// training by their spelling, where word embeddings alone cannot.
func TestCharFeatures(t *testing.T) {
	dir := t.TempDir()
	train, dev := suffixData(t, dir, "train.conll", 300, 2), suffixData(t, dir, "dev.conll", 100, 3)
	recipe := fmt.Sprintf(`data:
  train: {path: %s}
  dev: {path: %s}
  test: {path: %s}
model: {embedding: 16, hidden: 16, dropout: 0}
task: {type: tagging}
train: {epochs: 6, lr: 0.01}
`, train, dev, dev)
	p := filepath.Join(dir, "r.yaml")
	os.WriteFile(p, []byte(recipe), 0o644)
	with := tasktest.Run(t, registry(t), p, "model.char={embedding: 8, hidden: 12}")
	without := tasktest.Run(t, registry(t), p)
	t.Logf("dev F1 with characters %.1f, without %.1f", with.Dev["f1"], without.Dev["f1"])
	if with.Dev["f1"] < 95 || without.Dev["f1"] > 60 {
		t.Errorf("unseen words: F1 %.1f with character features (want ≥ 95), %.1f without (want ≤ 60)", with.Dev["f1"], without.Dev["f1"])
	}
}

// TestFeatureColumn checks that a per-token feature column (columns.feature)
// reaches the model: here the tag follows from the feature alone.
func TestFeatureColumn(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, n int, seed uint64) string {
		rng := rand.New(rand.NewPCG(seed, 2))
		var b strings.Builder
		for range n {
			for range 3 + rng.IntN(4) {
				pos, tag := "DT", "O"
				switch rng.IntN(3) {
				case 0:
					pos, tag = "VB", "B-VP"
				case 1:
					pos, tag = "NN", "B-NP"
				}
				fmt.Fprintf(&b, "w%d %s %s\n", rng.IntN(100000), pos, tag)
			}
			b.WriteString("\n")
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(b.String()), 0o644)
		return p
	}
	train, dev := write("train.conll", 300, 1), write("dev.conll", 100, 2)
	recipe := fmt.Sprintf(`data:
  train: {path: %s, columns: {tokens: "1", feature: "2", tags: "-1"}}
  dev: {path: %s, columns: {tokens: "1", feature: "2", tags: "-1"}}
model: {embedding: 16, feature_embedding: 4, hidden: 16, dropout: 0}
task: {type: tagging}
train: {epochs: 5, lr: 0.01}
`, train, dev)
	p := filepath.Join(dir, "r.yaml")
	os.WriteFile(p, []byte(recipe), 0o644)
	res := tasktest.Run(t, registry(t), p)
	if res.Dev["f1"] < 95 {
		t.Errorf("dev F1 %.1f with the feature column, want ≥ 95", res.Dev["f1"])
	}
}
