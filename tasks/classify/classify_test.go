package classify_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/classify"
	"github.com/seqkit/seqkit/tasks/tasktest"
)

func registry(t *testing.T) *tasks.Registry {
	var reg tasks.Registry
	if err := reg.Register(classify.Type()); err != nil {
		t.Fatal(err)
	}
	return &reg
}

// TestNamesLearns trains the names-language recipe on an eighth of the data for
// three epochs: accuracy must clear the majority baseline by far.
func TestNamesLearns(t *testing.T) {
	dir := tasktest.NeedData(t, "names-by-language")
	tmp := t.TempDir()
	train := tasktest.Slice(t, dir+"/names.train.tsv", tmp, "train.tsv", 8, 0)
	dev := tasktest.Slice(t, dir+"/names.dev.tsv", tmp, "dev.tsv", 4, 0)
	res := tasktest.Run(t, registry(t), "names-language", "data.train.path="+train, "data.dev.path="+dev,
		"data.test.path="+dev, "train.epochs=3", "model.hidden=64")
	t.Logf("dev %v", res.Dev)
	if a := res.Dev["accuracy"]; a < 60 || a < res.Dev["baseline_majority_accuracy"]+10 {
		t.Errorf("dev accuracy %.1f after 3 epochs on 2k names; want ≥ 60 and 10 points over the majority baseline %.1f", a, res.Dev["baseline_majority_accuracy"])
	}
	if l := res.Dev["loss"]; l > 1.5 {
		t.Errorf("dev loss %.3f, want below 1.5", l)
	}
}

// TestMultiLabel trains on ATIS intents read as label sets ("a#b"): the
// multi-label head must reach a high exact-match accuracy on a slice.
func TestMultiLabel(t *testing.T) {
	dir := tasktest.NeedData(t, "atis")
	tmp := t.TempDir()
	split := func(name, k string) string {
		return fmt.Sprintf("  %s:\n    files:\n      text: %s\n      label: %s\n", name,
			tasktest.Slice(t, dir+"/"+k+"/seq.in", tmp, name+".in", 3, 0),
			tasktest.Slice(t, dir+"/"+k+"/label", tmp, name+".label", 3, 0))
	}
	recipe := "data:\n" + split("train", "train") + split("dev", "valid") + split("test", "valid") + `  batch: {size: 16}
model: {embedding: 64, hidden: 64, dropout: 0.1}
task: {type: classify, multi_label: true, pooling: max}
train: {epochs: 4, lr: 0.003}
`
	p := filepath.Join(tmp, "intents.yaml")
	if err := os.WriteFile(p, []byte(recipe), 0o644); err != nil {
		t.Fatal(err)
	}
	res := tasktest.Run(t, registry(t), p)
	t.Logf("dev %v", res.Dev)
	if a := res.Dev["accuracy"]; a < 85 || math.IsNaN(a) {
		t.Errorf("multi-label exact-match accuracy %.1f, want ≥ 85", a)
	}
	if _, ok := res.Dev["f1/atis_airfare"]; !ok {
		t.Errorf("no per-class F1 for the split classes: %v", res.Dev)
	}
}

// TestSentimentNGrams trains the mr-sentiment recipe with its n-gram layer on a
// quarter of the training sentences for two epochs: it must clear chance by far,
// and beat the same small model without the n-gram layer. Measured with train.seed
// 1, 2 and 3: 64.7, 66.0 and 64.7 with the n-grams against 60.8, 53.0 and 55.8
// without (two epochs on a quarter of the data leave the BiLSTM alone at the edge
// of learning, so the gap depends on the seed: 3.9 to 13 points).
func TestSentimentNGrams(t *testing.T) {
	dir := tasktest.NeedData(t, "mr")
	tmp := t.TempDir()
	train := tasktest.Slice(t, dir+"/mr.train.tsv", tmp, "train.tsv", 4, 0)
	dev := tasktest.Slice(t, dir+"/mr.dev.tsv", tmp, "dev.tsv", 2, 0)
	acc := map[int]float64{}
	for _, n := range []int{0, 2} {
		res := tasktest.Run(t, registry(t), "mr-sentiment", "data.train.path="+train, "data.dev.path="+dev,
			"data.test.path="+dev, "train.epochs=2", "model.hidden=32", "model.embedding=32", fmt.Sprintf("task.ngrams=%d", n))
		acc[n] = res.Dev["accuracy"]
	}
	t.Logf("dev accuracy without n-grams %.2f, with %.2f", acc[0], acc[2])
	if acc[2] < 64 || acc[2] < acc[0]+3 {
		t.Errorf("dev accuracy with n-grams %.2f, want ≥ 64 and 3 points over %.2f without", acc[2], acc[0])
	}
}
