package recipes

import "github.com/seqkit/seqkit/nn"

// The recipe's own enumerations. Each value is checked against its enum tag
// when the recipe loads (an error at its line and column), so code compares
// it with these constants, never with a string of its own.

// Cell names a recurrent cell.
type Cell string

// The cells of model.cell and model.char.cell.
const (
	CellRNN     Cell = "rnn"
	CellRNNReLU Cell = "rnn_relu"
	CellLSTM    Cell = "lstm"
	CellGRU     Cell = "gru"
)

// NN is the cell for package nn.
func (c Cell) NN() (nn.Cell, error) { return nn.ParseCell(string(c)) }

// Optimizer names train.optimizer.
type Optimizer string

// The optimizers.
const (
	Adam  Optimizer = "adam"
	AdamW Optimizer = "adamw"
	SGD   Optimizer = "sgd"
)

// ScheduleKind names train.schedule.kind.
type ScheduleKind string

// The learning-rate schedules.
const (
	Constant     ScheduleKind = "constant"
	WarmupLinear ScheduleKind = "warmup_linear"
	StepDecay    ScheduleKind = "step"
	Plateau      ScheduleKind = "plateau"
)
