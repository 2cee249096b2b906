package classify

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// grid is a confusion matrix as a heat map: x is the prediction, y the gold class
// (drawn top to bottom), z the share of the gold class's examples.
type grid struct{ m [][]float64 }

func (g grid) Dims() (c, r int)   { return len(g.m), len(g.m) }
func (g grid) Z(c, r int) float64 { return g.m[len(g.m)-1-r][c] }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }

type classTicks struct {
	names   []string
	reverse bool
}

func (t classTicks) Ticks(lo, hi float64) []plot.Tick {
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

// drawConfusion writes the row-normalised confusion matrix conf[gold][pred] as a PNG.
func drawConfusion(path string, classes []string, conf [][]int) error {
	n := len(classes)
	if n == 0 {
		return nil
	}
	m := make([][]float64, n)
	for i, row := range conf {
		m[i] = make([]float64, n)
		total := 0
		for _, v := range row {
			total += v
		}
		for j, v := range row {
			if total > 0 {
				m[i][j] = float64(v) / float64(total)
			}
		}
	}
	p := plot.New()
	p.Title.Text = "confusion (share of each gold class)"
	p.X.Label.Text = "predicted"
	p.Y.Label.Text = "gold"
	pal := moreland.SmoothBlueRed()
	pal.SetMin(0)
	pal.SetMax(1)
	h := plotter.NewHeatMap(grid{m}, pal.Palette(64))
	h.Min, h.Max = 0, 1
	p.Add(h)
	p.X.Tick.Marker = classTicks{names: classes}
	p.Y.Tick.Marker = classTicks{names: classes, reverse: true}
	p.X.Tick.Label.Rotation = 1.2
	p.X.Tick.Label.XAlign = -1
	size := vg.Length(max(4, n/2+2)) * vg.Inch
	if err := p.Save(size, size, path); err != nil {
		return fmt.Errorf("confusion matrix: %w", err)
	}
	return nil
}
