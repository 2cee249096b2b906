package gcn

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/seqkit/seqkit/pipeline"
)

// readTSV reads content as one of the task's tables.
func readTSV(t *testing.T, content string, cols []pipeline.TableColumn) arrow.RecordBatch {
	t.Helper()
	p := filepath.Join(t.TempDir(), "t.tsv")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	rec, err := pipeline.ReadTable(context.Background(), pipeline.TableSource{Path: p}, cols, pipeline.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.Release)
	return rec
}

// TestBuildGraph: ids that are not row numbers become rows, and every table
// that would break the model or make it allocate without bound is refused
// with the row and what is wrong.
func TestBuildGraph(t *testing.T) {
	const head = "id\tlabel\tsplit\tfeatures\n"
	nodes := readTSV(t, head+"30\t1\ttrain\t0 4\n10\t0\ttrain\t2\n20\t-1\tnone\t1\n", nodesTable.Columns)
	edges := readTSV(t, "src\tdst\n30\t20\n", edgesTable.Columns)
	g, ids, err := buildGraph(nodes, edges, true, 16)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 || g.X.Rows != 3 || g.X.Cols != 5 || g.Classes != 2 || len(g.Train) != 2 || g.Adj.NNZ() != 5 {
		t.Errorf("graph %+v, ids %v", g, ids)
	}
	if g.X.Val[0] != 0.5 { // features are row-normalised
		t.Errorf("features of row 1: %v", g.X.Val[:2])
	}
	for _, c := range []struct{ nodes, edges, want string }{
		{head + "1\t0\ttrain\t0\n1\t0\tdev\t1\n", "src\tdst\n", "id 1 is on rows 1 and 2"},
		{head + "1\t0\ttrain\t0\n", "src\tdst\n1\t2\n", "row 1 names id 2, which no row has"},
		{head + "1\t0\ttrain\t-3\n", "src\tdst\n", "feature -3 is outside"},
		{head + "1\t0\ttrain\t99999999999\n", "src\tdst\n", "feature 99999999999 is outside 0..8388607"},
		{head + "1\t-1\ttrain\t0\n", "src\tdst\n", "is in train with label -1"},
		{head + "1\t70000\tdev\t0\n", "src\tdst\n", "is in dev with label 70000"},
		{head + "1\t0\tdev\t0\n", "src\tdst\n", "no node has split train"},
		{head, "src\tdst\n", "the nodes table is empty"},
		{head + "1\t0\ttrain\t\n", "src\tdst\n", "no node has a feature"},
	} {
		n := readTSV(t, c.nodes, nodesTable.Columns)
		e := readTSV(t, c.edges, edgesTable.Columns)
		if _, _, err := buildGraph(n, e, true, 16); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.nodes, err, c.want)
		}
	}
}
