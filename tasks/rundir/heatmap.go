package rundir

import (
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// HeatMap writes z (rows drawn top to bottom, values in [0, 1]) as a PNG heat map
// with a name for every column (x) and row (y): a confusion matrix, attention
// weights.
func HeatMap(path, title, xLabel, yLabel string, xNames, yNames []string, z [][]float64) error {
	if len(z) == 0 || len(z[0]) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	pal := moreland.SmoothBlueRed()
	pal.SetMin(0)
	pal.SetMax(1)
	h := plotter.NewHeatMap(grid{z}, pal.Palette(64))
	h.Min, h.Max = 0, 1
	p.Add(h)
	p.X.Tick.Marker = names{names: xNames}
	p.Y.Tick.Marker = names{names: yNames, reverse: true}
	p.X.Tick.Label.Rotation = 1.2
	p.X.Tick.Label.XAlign = -1
	w := vg.Length(max(3, len(xNames)/2+2)) * vg.Inch
	ht := vg.Length(max(3, len(yNames)/2+2)) * vg.Inch
	return p.Save(w, ht, path)
}

// grid is z as a plotter.GridXYZ, row 0 at the top.
type grid struct{ z [][]float64 }

func (g grid) Dims() (c, r int)   { return len(g.z[0]), len(g.z) }
func (g grid) Z(c, r int) float64 { return g.z[len(g.z)-1-r][c] }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }

// names labels every cell of an axis; reverse counts from the top.
type names struct {
	names   []string
	reverse bool
}

func (t names) Ticks(lo, hi float64) []plot.Tick {
	ticks := make([]plot.Tick, len(t.names))
	for i, n := range t.names {
		k := i
		if t.reverse {
			k = len(t.names) - 1 - i
		}
		ticks[i] = plot.Tick{Value: float64(k), Label: n}
	}
	return ticks
}
