package model_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/seqkit/seqkit/model"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
)

// predictAll predicts the file in with m and renders every output row.
func predictAll(t *testing.T, m *model.Model, in string) string {
	rd, err := pipeline.Open(pipeline.Source{Path: in, Format: pipeline.Text}, pipeline.WithBatchRows(100))
	if err != nil {
		t.Error(err)
		return ""
	}
	defer rd.Release()
	out, err := m.Predict(context.Background(), rd)
	if err != nil {
		t.Error(err)
		return ""
	}
	defer out.Release()
	var b strings.Builder
	for out.Next() {
		rec := out.RecordBatch()
		for i := range int(rec.NumRows()) {
			for c := range int(rec.NumCols()) {
				fmt.Fprintf(&b, "%v\t", rec.Column(c).(interface{ ValueStr(int) string }).ValueStr(i))
			}
			b.WriteByte('\n')
		}
	}
	if err := out.Err(); err != nil {
		t.Error(err)
	}
	return b.String()
}

// TestConcurrentPredict: one Model shared by four goroutines gives each the
// predictions it gives alone, row for row.
func TestConcurrentPredict(t *testing.T) {
	tmp := t.TempDir()
	reg := model.Builtin()
	r, err := recipes.Load("taipei", recipes.Options{Tasks: reg, Sets: []string{"train.epochs=2"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "run")
	if _, err := tasks.Run(context.Background(), r, tasks.RunOptions{Dir: dir, Registry: reg, NoTest: true,
		Prepare: tasks.PrepareOptions{CacheDir: filepath.Join(tmp, "cache")}}); err != nil {
		t.Fatal(err)
	}
	m, err := model.Open(dir, model.Options{BatchSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(tmp, "in.txt")
	var b strings.Builder
	cities := []string{"taipei", "boston", "new york", "tokyo", "denver"}
	for i := range 1500 {
		fmt.Fprintf(&b, "%s %s on november %dnd\n", []string{"arrive", "leave", "fly from"}[i%3], cities[i%5], i%28+1)
	}
	os.WriteFile(in, []byte(b.String()), 0o644)
	alone := predictAll(t, m, in)
	if strings.Count(alone, "\n") != 1500 {
		t.Fatalf("%d rows predicted", strings.Count(alone, "\n"))
	}
	var wg sync.WaitGroup
	got := make([]string, 4)
	for g := range got {
		wg.Go(func() { got[g] = predictAll(t, m, in) })
	}
	wg.Wait()
	for g, s := range got {
		if s != alone {
			t.Errorf("goroutine %d predicted differently from a reader alone", g)
		}
	}
}
