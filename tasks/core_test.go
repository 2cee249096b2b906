package tasks_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
)

// TestUpdateRefusesNonFinite checks the divergence check itself (the trainer's
// tests script ErrDiverged): a NaN or infinite loss, or an infinite gradient,
// is ErrDiverged, and neither the weights nor the optimizer move.
func TestUpdateRefusesNonFinite(t *testing.T) {
	for _, c := range []struct {
		name string
		loss float32
		grad float32
		want string
	}{
		{"NaN loss", float32(math.NaN()), 0.5, "loss is NaN"},
		{"infinite loss", float32(math.Inf(1)), 0.5, "loss is +Inf"},
		{"infinite gradient", 1, float32(math.Inf(-1)), "gradient norm is"},
		{"finite", 1, 0.5, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := recipes.Default()
			w := nn.NewTensor[float32](2)
			w.Name, w.Data = "w", []float32{1, 2}
			core, err := tasks.NewCore(&r, []*nn.Tensor[float32]{w})
			if err != nil {
				t.Fatal(err)
			}
			copy(w.EnsureGrad(), []float32{c.grad, 0.25}) // what a backward pass left
			loss := nn.NewTensor[float32](1)
			loss.Data[0] = c.loss
			_, err = core.Update(new(nn.Tape), loss, 0.1)
			if c.want == "" {
				if err != nil || slices.Equal(w.Data, []float32{1, 2}) {
					t.Fatalf("finite step: %v, weights %v", err, w.Data)
				}
				return
			}
			if !errors.Is(err, tasks.ErrDiverged) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v; want ErrDiverged saying %q", err, c.want)
			}
			if !slices.Equal(w.Data, []float32{1, 2}) {
				t.Errorf("the weights moved to %v", w.Data)
			}
		})
	}
}
