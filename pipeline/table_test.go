package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
)

var graphCols = []TableColumn{{"id", Int64}, {"weight", Float64}, {"split", String}, {"features", Int64List}, {"vec", Float64List}}

func writeTable(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReadTable reads the same table from TSV, CSV (a quoted field) and
// JSON Lines (arrays and numbers as strings), with a renamed column and an
// extra one ignored, into the declared types.
func TestReadTable(t *testing.T) {
	for _, c := range []struct{ name, content string }{
		{"g.tsv", "extra\tnode\tweight\tsplit\tfeatures\tvec\nx\t7\t0.5\ttrain\t1 2 3\t0.25,1\ny\t9\t-2\tdev\t\t3\n"},
		{"g.csv", "node,weight,split,features,vec,extra\n7,0.5,train,1 2 3,\"0.25,1\",x\n\n9,-2,dev,,3,y\n"},
		{"g.jsonl", `{"node": 7, "weight": 0.5, "split": "train", "features": [1, 2, 3], "vec": "0.25 1"}` + "\n" +
			`{"node": "9", "weight": -2, "split": "dev", "features": [], "vec": [3], "extra": {}}` + "\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := writeTable(t, c.name, c.content)
			rec, err := ReadTable(context.Background(), TableSource{Path: p, Rename: map[string]string{"id": "node"}}, graphCols, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			defer rec.Release()
			if rec.NumRows() != 2 || rec.NumCols() != 5 || rec.ColumnName(0) != "id" {
				t.Fatalf("%v", rec)
			}
			ids := rec.Column(0).(*array.Int64).Int64Values()
			w := rec.Column(1).(*array.Float64).Float64Values()
			split := rec.Column(2).(*array.String)
			feats := rec.Column(3).(*array.List)
			vec := rec.Column(4).(*array.List)
			s0, e0 := feats.ValueOffsets(0)
			s1, e1 := feats.ValueOffsets(1)
			v0, ve0 := vec.ValueOffsets(0)
			if ids[0] != 7 || ids[1] != 9 || w[0] != 0.5 || w[1] != -2 || split.Value(1) != "dev" || e0-s0 != 3 || e1-s1 != 0 || ve0-v0 != 2 {
				t.Errorf("%v", rec)
			}
		})
	}
}

// TestReadTableErrors: every bad table is refused with its file and line.
func TestReadTableErrors(t *testing.T) {
	for _, c := range []struct {
		name, content string
		cols          []TableColumn
		lim           Limits
		want          string
	}{
		{"a.tsv", "", graphCols[:1], Limits{}, "a.tsv:1: empty file"},
		{"a.tsv", "src\tdst\n1\t2\n", graphCols[:1], Limits{}, `a.tsv:1: no column "id"`},
		{"a.tsv", "id\n1\nx\n", graphCols[:1], Limits{}, `a.tsv:3: column "id": "x" is not an integer`},
		{"a.tsv", "id\tweight\n1\tNaN\n", graphCols[:2], Limits{}, `a.tsv:2: column "weight": "NaN" is not a finite number`},
		{"a.tsv", "id\tsplit\n1\n", []TableColumn{{"id", Int64}, {"split", String}}, Limits{}, `a.tsv:2: 1 fields, and column "split" is field 2`},
		{"a.tsv", "features\n1 2 3 4\n", []TableColumn{{"features", Int64List}}, Limits{MaxTokens: 3}, "a.tsv:2: column \"features\": 4 values, more than 3"},
		{"a.tsv", "id\n" + strings.Repeat("1", 100) + "\n", graphCols[:1], Limits{MaxLineBytes: 50}, "a.tsv:2: line longer than 50 bytes"},
		{"a.csv", "id\n\"1\n", graphCols[:1], Limits{}, "a.csv:2:"},
		{"a.jsonl", "{\"id\": 1}\n[1]\n", graphCols[:1], Limits{}, "a.jsonl:2: not a JSON object"},
		{"a.jsonl", "{\"x\": 1}\n", graphCols[:1], Limits{}, `a.jsonl:1: no key "id"`},
		{"a.jsonl", "{\"id\": [1]}\n", graphCols[:1], Limits{}, `a.jsonl:1: "id": a list, where a int64 is wanted`},
		{"a.jsonl", "{\"features\": [1, \"a\"]}\n", []TableColumn{{"features", Int64List}}, Limits{}, `a.jsonl:1: "features": want a list of numbers`},
		{"a.parquet", "", graphCols[:1], Limits{}, "a table is read from csv, tsv or jsonl"},
		{"a.tsv", "id\n1\n", []TableColumn{{"id", "int8"}}, Limits{}, `unknown column type "int8"`},
	} {
		p := writeTable(t, c.name, c.content)
		_, err := ReadTable(context.Background(), TableSource{Path: p}, c.cols, c.lim)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.content, err, c.want)
		}
	}
}

// TestReadTableStops: a done context stops the read with its cause.
func TestReadTableStops(t *testing.T) {
	p := writeTable(t, "a.tsv", "id\n"+strings.Repeat("1\n", 10000))
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("interrupt")
	cancel(stop)
	if _, err := ReadTable(ctx, TableSource{Path: p}, graphCols[:1], Limits{}); !errors.Is(err, stop) {
		t.Errorf("%v, want the context's cause", err)
	}
}

// FuzzReadTable: whatever a table file holds, ReadTable returns a record of
// the declared columns or an error, never panics.
func FuzzReadTable(f *testing.F) {
	f.Add("id\tweight\tsplit\tfeatures\tvec\n1\t0.5\ttrain\t1 2\t3\n", false)
	f.Add(`{"id": 1, "weight": 2, "split": "x", "features": [1], "vec": "1,2"}`, true)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content string, jsonl bool) {
		p := filepath.Join(dir, "f.tsv")
		if jsonl {
			p = filepath.Join(dir, "f.jsonl")
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		rec, err := ReadTable(context.Background(), TableSource{Path: p}, graphCols, Limits{MaxTokens: 100})
		if err != nil {
			return
		}
		defer rec.Release()
		if int(rec.NumCols()) != len(graphCols) {
			t.Fatalf("%d columns", rec.NumCols())
		}
		for _, c := range rec.Columns() {
			if c.Len() != int(rec.NumRows()) {
				t.Fatalf("a column of %d rows in a record of %d", c.Len(), rec.NumRows())
			}
		}
	})
}
