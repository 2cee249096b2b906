package seq2seq

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
)

// TestComposeHangul trains a copy task on Hangul words read as letters
// (tokenizer normalize: nfd): the model predicts jamo, and with compose: true
// its predictions come back as syllables (NFC), as a reader expects them;
// without it they stay letters.
func TestComposeHangul(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	syllable := func() string { return string(rune(0xAC00 + rng.IntN(20)*588 + rng.IntN(3)*28)) }
	write := func(name string, n int) {
		var b strings.Builder
		for range n {
			w := syllable() + syllable()
			fmt.Fprintf(&b, "%s\t%s\n", w, w)
		}
		os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644)
	}
	write("train.tsv", 3000)
	write("test.tsv", 40)
	var reg tasks.Registry
	if err := reg.Register(Type()); err != nil {
		t.Fatal(err)
	}
	for _, compose := range []bool{true, false} {
		recipe := fmt.Sprintf(`name: hangul
data:
  train: {path: train.tsv, no_header: true, columns: {text: "1", target: "2"}}
  test: {path: test.tsv, no_header: true, columns: {text: "1", target: "2"}}
  tokenizer: {kind: char, normalize: nfd, target: {kind: char, normalize: nfd, compose: %v}}
model: {embedding: 16, cell: gru, hidden: 32, dropout: 0}
task: {type: seq2seq, attention: general}
train: {epochs: 2, lr: 0.01, seed: 1}
`, compose)
		path := filepath.Join(dir, fmt.Sprintf("r-%v.yaml", compose))
		os.WriteFile(path, []byte(recipe), 0o644)
		r, err := recipes.Load(path, recipes.Options{Tasks: &reg})
		if err != nil {
			t.Fatal(err)
		}
		run := filepath.Join(dir, fmt.Sprintf("run-%v", compose))
		if _, err := tasks.Run(context.Background(), r, tasks.RunOptions{Dir: run, Registry: &reg, Prepare: tasks.PrepareOptions{CacheDir: filepath.Join(dir, "cache")}}); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(filepath.Join(run, "predictions.test.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		syllables, rows := 0, 0
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var row struct {
				Output string `json:"output"`
			}
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
				t.Fatal(err)
			}
			rows++
			for _, c := range row.Output {
				if unicode.Is(unicode.Hangul, c) && c >= 0xAC00 && c <= 0xD7A3 {
					syllables++
				}
			}
			if compose && !norm.NFC.IsNormalString(row.Output) {
				t.Errorf("compose: %q is not NFC", row.Output)
			}
		}
		f.Close()
		if rows != 40 {
			t.Fatalf("%d predictions", rows)
		}
		if compose && syllables < 40 {
			t.Errorf("compose: %d syllables in 40 predictions of two-syllable words", syllables)
		}
		if !compose && syllables != 0 {
			t.Errorf("without compose: %d syllables; the predictions should be letters", syllables)
		}
	}
}
