// Command testplugin serves the built-in classify task as the plugin
// "testclassify", for the plugin tests: the same task in-process and over the
// protocol must give the same results. SEQKIT_TESTPLUGIN_FAULT makes it fail on
// purpose: crash (exit in the first training step), hang (never answer it),
// print (write to standard output before and during serving), huge (answer a
// prediction with a message of 80 MB).
package main

import (
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/plugins/sdk"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/classify"
)

func main() {
	fault := os.Getenv("SEQKIT_TESTPLUGIN_FAULT")
	if fault == "print" {
		fmt.Println("a line printed before Serve")
	}
	t := classify.Type()
	t.Name = "testclassify"
	inner := t.New
	t.New = func() tasks.Task { return &faulty{Task: inner(), fault: fault} }
	sdk.Serve(t)
}

type faulty struct {
	tasks.Task
	fault string
}

func (f *faulty) TrainStep(b *pipeline.Batch, lr float64) (tasks.Step, error) {
	switch f.fault {
	case "crash":
		log.Print("testplugin: crashing on purpose in the training step")
		os.Exit(3)
	case "hang":
		log.Print("testplugin: hanging on purpose in the training step")
		time.Sleep(time.Hour)
	case "print":
		fmt.Println("a line printed during a training step")
	}
	return f.Task.TrainStep(b, lr)
}

func (f *faulty) Predict(b *pipeline.Batch) (arrow.RecordBatch, error) {
	rec, err := f.Task.Predict(b)
	if err != nil || f.fault != "huge" {
		return rec, err
	}
	defer rec.Release()
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	defer sb.Release()
	sb.Append(strings.Repeat("x", 80<<20))
	for range rec.NumRows() - 1 {
		sb.Append("")
	}
	col := sb.NewArray()
	defer col.Release()
	fields := append(rec.Schema().Fields(), arrow.Field{Name: "huge", Type: arrow.BinaryTypes.String})
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), append(rec.Columns(), col), rec.NumRows()), nil
}
