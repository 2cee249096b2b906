package rundir

import (
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/seqkit/seqkit/internal/atomicfile"
)

// maxCellText is the largest grid whose cells get their text: beyond it the
// numbers are too small to read.
const maxCellText = 40

// HeatMap writes z (rows drawn top to bottom, values in [0, 1]) as a PNG heat map
// with a name for every column (x) and row (y), and a colour scale beside it:
// a confusion matrix, attention weights. cells, when not nil, is the text of
// each cell (a confusion matrix's counts), written on it where the grid has at
// most 40 rows and columns.
func HeatMap(path, title, xLabel, yLabel string, xNames, yNames []string, z [][]float64, cells [][]string) error {
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
	if cells != nil && len(z) <= maxCellText && len(z[0]) <= maxCellText {
		if l, err := cellLabels(z, cells); err == nil {
			p.Add(l)
		}
	}
	p.X.Tick.Marker = names{names: xNames}
	p.Y.Tick.Marker = names{names: yNames, reverse: true}
	p.X.Tick.Label.Rotation = 1.2
	p.X.Tick.Label.XAlign = -1

	bar := plot.New()
	bar.HideX()
	bar.Y.Padding = 0
	bar.Title.Text = "share"
	bar.Add(&plotter.ColorBar{ColorMap: pal, Vertical: true})

	const barW = vg.Inch
	w := vg.Length(max(4, len(xNames)/2+2))*vg.Inch + barW
	ht := vg.Length(max(3, len(yNames)/2+2)) * vg.Inch
	img := vgimg.New(w, ht)
	dc := draw.New(img)
	p.Draw(draw.Crop(dc, 0, -barW, 0, 0))
	bar.Draw(draw.Crop(dc, w-barW, -vg.Inch/4, vg.Inch/2, -vg.Inch/4))
	return atomicfile.Write(path, func(f io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(f)
		return err
	})
}

// cellLabels writes cells[i][j] at the centre of each cell, white on the
// scale's dark ends and black in its light middle.
func cellLabels(z [][]float64, cells [][]string) (*plotter.Labels, error) {
	var xy plotter.XYLabels
	for i, row := range cells {
		for j, s := range row {
			if i >= len(z) || j >= len(z[i]) || s == "" {
				continue
			}
			xy.XYs = append(xy.XYs, plotter.XY{X: float64(j), Y: float64(len(z) - 1 - i)})
			xy.Labels = append(xy.Labels, s)
		}
	}
	l, err := plotter.NewLabels(xy)
	if err != nil {
		return nil, err
	}
	k := 0
	for i, row := range cells {
		for j, s := range row {
			if i >= len(z) || j >= len(z[i]) || s == "" {
				continue
			}
			st := &l.TextStyle[k]
			st.XAlign, st.YAlign = draw.XCenter, draw.YCenter
			st.Color = color.Black
			if v := z[i][j]; v < 0.2 || v > 0.8 {
				st.Color = color.White
			}
			k++
		}
	}
	return l, nil
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
