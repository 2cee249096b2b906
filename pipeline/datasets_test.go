package pipeline_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/seqkit/seqkit/pipeline"
)

// datasets is where the shared public datasets live beside this repository.
const datasets = "../../shared/datasets"

func needDatasets(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(datasets); err != nil {
		t.Skipf("the shared datasets are not at %s (a fresh clone has none): %v", datasets, err)
	}
}

// TestRealDatasets reads the public datasets and checks the example counts their
// READMEs state.
func TestRealDatasets(t *testing.T) {
	needDatasets(t)
	d := func(p string) string { return filepath.Join(datasets, p) }
	cases := []struct {
		name string
		src  pipeline.Source
		rows int
	}{
		{"atis/train", pipeline.Source{Format: pipeline.Text, Files: pipeline.Columns{Tokens: d("atis/train/seq.in"), Tags: d("atis/train/seq.out"), Label: d("atis/train/label")}}, 4478},
		{"atis/test", pipeline.Source{Format: pipeline.Text, Files: pipeline.Columns{Tokens: d("atis/test/seq.in"), Tags: d("atis/test/seq.out"), Label: d("atis/test/label")}}, 893},
		{"conll2000/train", pipeline.Source{Path: d("conll2000/train.txt"), Format: pipeline.CoNLL}, 8936},
		{"conll2000/test", pipeline.Source{Path: d("conll2000/test.txt"), Format: pipeline.CoNLL}, 2012},
		{"mr/train", pipeline.Source{Path: d("mr/mr.train.tsv"), NoHeader: true, Columns: pipeline.Columns{Label: "1", Text: "2"}}, 8466},
		{"names-by-language/train", pipeline.Source{Path: d("names-by-language/names.train.tsv"), NoHeader: true, Columns: pipeline.Columns{Label: "1", Text: "2"}}, 16109},
		{"names/train", pipeline.Source{Path: d("names/names.train.txt")}, 25626},
		{"timeseries/sunspots", pipeline.Source{Path: d("timeseries/monthly-sunspots.csv"), Columns: pipeline.Columns{Text: "Month", Label: "Sunspots"}}, 2820},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := pipeline.Open(c.src)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Release()
			n := 0
			for r.Next() {
				n += int(r.RecordBatch().NumRows())
			}
			if err := r.Err(); err != nil {
				t.Fatal(err)
			}
			if n != c.rows {
				t.Fatalf("read %d examples, the README says %d", n, c.rows)
			}
		})
	}
}
