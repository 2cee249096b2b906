package rundir

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHeatMapCells: a confusion matrix's cells carry their counts, white on
// the scale's dark ends and black in its middle, and the PNG is written.
func TestHeatMapCells(t *testing.T) {
	z := [][]float64{{0.9, 0.1}, {0.5, 0.5}}
	cells := [][]string{{"90", "10"}, {"", "5"}}
	l, err := cellLabels(z, cells)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(l.Labels, " "); got != "90 10 5" {
		t.Errorf("labels %q", got)
	}
	white := func(i int) bool {
		r, g, b, _ := l.TextStyle[i].Color.RGBA()
		return r == 0xffff && g == 0xffff && b == 0xffff
	}
	if !white(0) || !white(1) || white(2) {
		t.Errorf("text colours: %v %v %v", l.TextStyle[0].Color, l.TextStyle[1].Color, l.TextStyle[2].Color)
	}
	p := filepath.Join(t.TempDir(), "confusion.png")
	if err := HeatMap(p, "confusion", "predicted", "gold", []string{"a", "b"}, []string{"a", "b"}, z, cells); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("no PNG written: %v", err)
	}
}
