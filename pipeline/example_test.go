package pipeline_test

import (
	"fmt"
	"os"

	"github.com/seqkit/seqkit/pipeline"
)

// Read parallel slot-filling files (tokens, tags, intent) as Arrow records.
func ExampleOpen() {
	r, err := pipeline.Open(pipeline.Source{
		Format: pipeline.Text,
		Files:  pipeline.Columns{Tokens: "testdata/seq.in", Tags: "testdata/seq.out", Label: "testdata/label"},
	})
	if err != nil {
		panic(err)
	}
	defer r.Release()
	fmt.Println(r.Schema())
	for r.Next() {
		rec := r.RecordBatch() // valid until the next call to Next
		fmt.Println(rec.NumRows(), "rows")
	}
	if err := r.Err(); err != nil {
		panic(err)
	}
	// Output:
	// schema:
	//   fields: 4
	//     - row: type=int64
	//     - tokens: type=list<item: utf8, nullable>
	//     - tags: type=list<item: utf8, nullable>
	//     - label: type=utf8
	// 3 rows
}

// Build vocabularies from the training split, encode and cache it, then iterate
// padded time-major batches.
func ExampleBatcher() {
	train := pipeline.Source{Format: pipeline.Text, Files: pipeline.Columns{Tokens: "testdata/seq.in", Tags: "testdata/seq.out"}}
	tok, _ := pipeline.NewTokenizer(pipeline.TokenizerConfig{Lower: true})

	r, err := pipeline.Open(train)
	if err != nil {
		panic(err)
	}
	vocabs, err := pipeline.BuildVocabs(r, tok, pipeline.VocabConfig{})
	r.Release()
	if err != nil {
		panic(err)
	}
	fmt.Println("input vocabulary:", vocabs.Input.Tokens())

	dir, _ := os.MkdirTemp("", "cache")
	defer os.RemoveAll(dir)
	ds, report, err := pipeline.Cache{Dir: dir}.Prepare(train, &pipeline.Encoder{Tokenizer: tok, Vocabs: vocabs}, 0)
	if err != nil {
		panic(err)
	}
	defer ds.Close()
	fmt.Println("rows:", report.Rows, "cached:", report.Cached)

	batches, _ := pipeline.NewBatcher(ds, pipeline.BatchConfig{Size: 2})
	for b := range batches.Epoch(0) {
		fmt.Println("T", b.T, "B", b.B, "lengths", b.Lengths, "ids", b.IDs)
	}
	// Output:
	// input vocabulary: [<pad> <unk> <bos> <eos> taipei arrive leave monday on]
	// rows: 3 cached: false
	// T 2 B 2 lengths [2 0] ids [5 0 4 0]
	// T 4 B 1 lengths [4] ids [6 4 8 7]
}
