package tagging_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/seqkit/seqkit/tasks/tasktest"
)

// TestATISJointLearns trains the joint slot-and-intent tagger on a third of ATIS
// for three epochs and checks that both heads learn.
func TestATISJointLearns(t *testing.T) {
	dir := tasktest.NeedData(t, "atis")
	tmp := t.TempDir()
	split := func(name, k string, every int) string {
		f := func(file string) string {
			return tasktest.Slice(t, filepath.Join(dir, k, file), tmp, name+"."+file, every, 0)
		}
		return fmt.Sprintf("  %s:\n    files: {tokens: %s, tags: %s, label: %s}\n", name, f("seq.in"), f("seq.out"), f("label"))
	}
	recipe := "data:\n" + split("train", "train", 3) + split("dev", "valid", 2) + split("test", "valid", 2) + `  batch: {size: 16}
model: {embedding: 64, hidden: 64, dropout: 0.2}
task: {type: tagging, head: crf, joint: {pooling: max}}
train: {epochs: 3, lr: 0.005}
`
	p := filepath.Join(tmp, "joint.yaml")
	if err := os.WriteFile(p, []byte(recipe), 0o644); err != nil {
		t.Fatal(err)
	}
	res := tasktest.Run(t, registry(t), p)
	t.Logf("dev f1 %.2f label %.2f sentence %.2f loss %.3f", res.Dev["f1"], res.Dev["label_accuracy"], res.Dev["sentence_accuracy"], res.Dev["loss"])
	if res.Dev["f1"] < 80 || res.Dev["label_accuracy"] < 85 || res.Dev["sentence_accuracy"] < 50 {
		t.Errorf("after 3 epochs on 1.5k utterances: slot F1 %.1f (want ≥ 80), intent %.1f (≥ 85), sentence %.1f (≥ 50)",
			res.Dev["f1"], res.Dev["label_accuracy"], res.Dev["sentence_accuracy"])
	}
	if res.Dev["loss"] > 1 {
		t.Errorf("dev loss %.3f, want below 1", res.Dev["loss"])
	}
}
