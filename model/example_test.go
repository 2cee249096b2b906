package model_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/seqkit/seqkit/model"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
)

// Train the built-in Taipei demo as a library, then open its run directory
// and predict a file of requests: "Taipei" is the destination after "arrive"
// and the origin after "leave".
func Example() {
	tmp, _ := os.MkdirTemp("", "seqkit-example")
	defer os.RemoveAll(tmp)
	reg := model.Builtin()
	r, err := recipes.Load("taipei", recipes.Options{Tasks: reg})
	if err != nil {
		log.Fatal(err)
	}
	dir := filepath.Join(tmp, "run")
	if _, err := tasks.Run(context.Background(), r, tasks.RunOptions{Dir: dir, Registry: reg, NoTest: true,
		Prepare: tasks.PrepareOptions{CacheDir: filepath.Join(tmp, "cache")}}); err != nil {
		log.Fatal(err)
	}

	m, err := model.Open(dir, model.Options{})
	if err != nil {
		log.Fatal(err)
	}
	in := filepath.Join(tmp, "requests.txt")
	os.WriteFile(in, []byte("arrive taipei on november 2nd\nleave taipei on november 2nd\n"), 0o644)
	rd, err := pipeline.Open(pipeline.Source{Path: in, Format: pipeline.Text})
	if err != nil {
		log.Fatal(err)
	}
	defer rd.Release()
	out, err := m.Predict(context.Background(), rd)
	if err != nil {
		log.Fatal(err)
	}
	defer out.Release()
	for out.Next() {
		rec := out.RecordBatch()
		text := rec.Column(rec.Schema().FieldIndices("text")[0]).(*array.String)
		tags := rec.Column(rec.Schema().FieldIndices("tags")[0]).(*array.List)
		for i := range int(rec.NumRows()) {
			s, e := tags.ValueOffsets(i)
			fmt.Println(text.Value(i), "→", tags.ListValues().(*array.String).Value(int(s)+1), e-s)
		}
	}
	if err := out.Err(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// arrive taipei on november 2nd → B-toloc.city_name 5
	// leave taipei on november 2nd → B-fromloc.city_name 5
}
