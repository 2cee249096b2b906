package classify

import (
	"fmt"
	"strconv"

	"github.com/seqkit/seqkit/tasks/rundir"
)

// drawConfusion writes the row-normalised confusion matrix conf[gold][pred] as a
// PNG: x is the prediction, y the gold class, each cell coloured by the share of
// the gold class's examples and labelled with their count.
func drawConfusion(path string, classes []string, conf [][]int) error {
	m := make([][]float64, len(conf))
	counts := make([][]string, len(conf))
	for i, row := range conf {
		m[i] = make([]float64, len(row))
		counts[i] = make([]string, len(row))
		total := 0
		for _, v := range row {
			total += v
		}
		for j, v := range row {
			if total > 0 {
				m[i][j] = float64(v) / float64(total)
			}
			if v > 0 {
				counts[i][j] = strconv.Itoa(v)
			}
		}
	}
	if err := rundir.HeatMap(path, "confusion: counts, coloured by share of the gold class", "predicted", "gold", classes, classes, m, counts); err != nil {
		return fmt.Errorf("confusion matrix: %w", err)
	}
	return nil
}
