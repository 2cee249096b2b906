package tasks

import (
	"errors"
	"strings"
	"testing"

	"github.com/seqkit/seqkit/recipes"
)

// TestWhole: a task that trains on whole tables gets one rowless batch per
// epoch and per evaluation, naming the split; a task and a recipe that
// disagree on it are refused with what to give instead.
func TestWhole(t *testing.T) {
	data := &Data{Whole: true}
	r := &recipes.Recipe{}
	ep, n, err := trainBatches(r, data)
	if err != nil || n != 1 {
		t.Fatalf("%d batches an epoch, %v", n, err)
	}
	var got []string
	for b := range ep.Epoch(3) {
		got = append(got, b.Split)
		if b.B != 0 || len(b.Rows) != 0 {
			t.Errorf("a training batch with rows: %+v", b)
		}
	}
	for _, split := range []string{"dev", "test"} {
		for b := range SplitBatches(data, split, r) {
			got = append(got, b.Split)
		}
	}
	if strings.Join(got, " ") != "train dev test" {
		t.Errorf("batches %v", got)
	}
	if err := checkWhole(Info{Name: "classify"}, true); !errors.Is(err, recipes.ErrRecipe) || !strings.Contains(err.Error(), "give data.train") {
		t.Errorf("a batch task on tables alone: %v", err)
	}
	if err := checkWhole(Info{Name: "gcn", WholeDataset: true}, false); !errors.Is(err, recipes.ErrRecipe) || !strings.Contains(err.Error(), "give its data.tables and no train") {
		t.Errorf("a whole-dataset task on splits: %v", err)
	}
	if checkWhole(Info{Name: "gcn", WholeDataset: true}, true) != nil || checkWhole(Info{Name: "classify"}, false) != nil {
		t.Error("a task and a recipe that agree were refused")
	}
	for range SplitBatches(&Data{}, "dev", r) {
		t.Error("a batch of a split the data lacks")
	}
}
