package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// Cell selects the recurrent cell of an [RNN].
type Cell int

// The cells. Gate order and formulas follow PyTorch so that checkpoints load into
// torch.nn.RNN, torch.nn.LSTM and torch.nn.GRU.
const (
	// RNNTanh is the Elman network h' = tanh(W_ih x + b_ih + W_hh h + b_hh).
	RNNTanh Cell = iota
	// RNNReLU is the Elman network with ReLU in place of tanh.
	RNNReLU
	// LSTM is the long short-term memory cell, gates i, f, g, o (Hochreiter and
	// Schmidhuber 1997, forget gate of Gers et al. 2000).
	LSTM
	// GRU is the gated recurrent unit in PyTorch's reset-after formulation, gates r, z, n:
	// n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1-z) ⊙ n + z ⊙ h.
	GRU
)

var cellNames = [...]string{RNNTanh: "rnn_tanh", RNNReLU: "rnn_relu", LSTM: "lstm", GRU: "gru"}

func (c Cell) String() string {
	if c >= 0 && int(c) < len(cellNames) {
		return cellNames[c]
	}
	return fmt.Sprintf("Cell(%d)", int(c))
}

// ParseCell reads a cell name: rnn (same as rnn_tanh), rnn_tanh, rnn_relu, lstm or gru.
func ParseCell(s string) (Cell, error) {
	switch strings.ToLower(s) {
	case "rnn", "rnn_tanh", "elman":
		return RNNTanh, nil
	case "rnn_relu":
		return RNNReLU, nil
	case "lstm":
		return LSTM, nil
	case "gru":
		return GRU, nil
	}
	return 0, fmt.Errorf("nn: unknown cell %q (want rnn, rnn_tanh, rnn_relu, lstm or gru)", s)
}

// gates is the number of H-sized blocks in the cell's weight matrices.
func (c Cell) gates() int {
	switch c {
	case LSTM:
		return 4
	case GRU:
		return 3
	}
	return 1
}

// RNNConfig describes a recurrent stack. The zero value of every optional field is
// the usual choice: one layer, one direction, no dropout, an LSTM with forget gate and
// no peepholes.
type RNNConfig struct {
	Cell       Cell
	InputSize  int
	HiddenSize int
	// Layers is the number of stacked layers; 0 means 1.
	Layers        int
	Bidirectional bool
	// Dropout is the probability of dropping a layer's output before the next layer
	// (not after the last one, as in PyTorch).
	Dropout float64
	// Variational shares one dropout mask across all time steps.
	Variational bool
	// WeightDropout drops each recurrent weight (W_hh) with this probability,
	// one mask per pass, shared by every step and row (DropConnect, as in
	// Merity et al.'s AWD-LSTM): it regularises the recurrence itself, which
	// dropout between layers does not touch.
	WeightDropout float64
	// NoForgetGate gives the original 1997 LSTM: c' = c + i ⊙ g. The f rows of the
	// weights stay in the checkpoint (PyTorch's shape) but are zero and get no gradient.
	NoForgetGate bool
	// Peephole adds diagonal weights from the cell state into the LSTM gates
	// (Gers and Schmidhuber 2000): i and f see c, o sees c'. They are stored as
	// weight_peephole_l{k}[_reverse] of shape [3, H] (rows i, f, o), a seqkit-only
	// tensor that PyTorch does not have.
	Peephole bool
}

func (c RNNConfig) layers() int {
	if c.Layers == 0 {
		return 1
	}
	return c.Layers
}

func (c RNNConfig) dirs() int {
	if c.Bidirectional {
		return 2
	}
	return 1
}

// OutputSize is the feature size of the output: HiddenSize, doubled when bidirectional.
func (c RNNConfig) OutputSize() int { return c.HiddenSize * c.dirs() }

// Validate reports the first thing wrong with the configuration.
func (c RNNConfig) Validate() error {
	switch {
	case c.Cell < RNNTanh || c.Cell > GRU:
		return fmt.Errorf("nn: unknown cell %d", int(c.Cell))
	case c.InputSize <= 0:
		return fmt.Errorf("nn: RNN input size must be positive, got %d", c.InputSize)
	case c.HiddenSize <= 0:
		return fmt.Errorf("nn: RNN hidden size must be positive, got %d", c.HiddenSize)
	case c.Layers < 0:
		return fmt.Errorf("nn: RNN layers must be positive, got %d", c.Layers)
	case c.Dropout < 0 || c.Dropout >= 1:
		return fmt.Errorf("nn: RNN dropout must be in [0, 1), got %g", c.Dropout)
	case c.WeightDropout < 0 || c.WeightDropout >= 1:
		return fmt.Errorf("nn: RNN weight dropout must be in [0, 1), got %g", c.WeightDropout)
	case (c.NoForgetGate || c.Peephole) && c.Cell != LSTM:
		return errors.New("nn: peephole and no-forget-gate options apply to the LSTM cell only")
	}
	return nil
}

// State is the hidden state of every layer and direction, each [Layers·Dirs, B, H]
// in PyTorch's order (layer-major, forward before reverse). C is the LSTM cell state
// and nil for other cells. A nil H or C as initial state means zeros.
type State[T Float] struct {
	H, C *Tensor[T]
}

// RNN is a stack of recurrent layers, optionally bidirectional, over time-major
// batches of variable-length sequences.
type RNN[T Float] struct {
	Config RNNConfig
	dirs   [][]*rnnDir[T] // [layer][direction]
}

// rnnDir holds one layer-direction's weights, named as in PyTorch.
type rnnDir[T Float] struct {
	wih, whh, bih, bhh *Tensor[T]
	peep               *Tensor[T] // LSTM with peepholes only
	in                 int
	reverse            bool
}

// NewRNN builds a recurrent stack with Glorot-uniform input weights, orthogonal
// recurrent weights (one orthogonal block per gate), zero biases except the LSTM
// forget-gate bias, which is 1 (Jozefowicz et al. 2015), and small uniform peepholes.
// The GRU's update-gate bias is 1 too, for the same reason: z ≈ 0.73 keeps most of
// the old state at the start of training, so the gradient survives long delays
// (with z ≈ 0.5 it halves every step; TestGatesBeatVanishingGradients shows plain
// SGD then fails a 20-step delay). Both biases sit in bias_ih.
func NewRNN[T Float](name string, cfg RNNConfig, rng *rand.Rand) (*RNN[T], error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	H, G := cfg.HiddenSize, cfg.Cell.gates()
	r := &RNN[T]{Config: cfg}
	for l := 0; l < cfg.layers(); l++ {
		in := cfg.InputSize
		if l > 0 {
			in = cfg.OutputSize()
		}
		var layer []*rnnDir[T]
		for d := 0; d < cfg.dirs(); d++ {
			suffix := fmt.Sprintf("_l%d", l)
			if d == 1 {
				suffix += "_reverse"
			}
			p := &rnnDir[T]{
				wih: NewTensor[T](G*H, in), whh: NewTensor[T](G*H, H),
				bih: NewTensor[T](G * H), bhh: NewTensor[T](G * H),
				in: in, reverse: d == 1,
			}
			p.wih.Name = name + ".weight_ih" + suffix
			p.whh.Name = name + ".weight_hh" + suffix
			p.bih.Name = name + ".bias_ih" + suffix
			p.bhh.Name = name + ".bias_hh" + suffix
			for g := 0; g < G; g++ {
				GlorotUniform(p.wih.Data[g*H*in:(g+1)*H*in], in, H, rng)
				Orthogonal(p.whh.Data[g*H*H:(g+1)*H*H], H, rng)
			}
			if cfg.Cell == GRU {
				z := p.bih.Data[H : 2*H]
				for j := range z {
					z[j] = 1
				}
			}
			if cfg.Cell == LSTM {
				f := p.bih.Data[H : 2*H]
				if cfg.NoForgetGate {
					clear(p.wih.Data[H*in : 2*H*in])
					clear(p.whh.Data[H*H : 2*H*H])
				} else {
					for j := range f {
						f[j] = 1
					}
				}
				if cfg.Peephole {
					p.peep = NewTensor[T](3, H)
					p.peep.Name = name + ".weight_peephole" + suffix
					Uniform(p.peep.Data, 1/math.Sqrt(float64(H)), rng)
					if cfg.NoForgetGate {
						clear(p.peep.Data[H : 2*H])
					}
				}
			}
			layer = append(layer, p)
		}
		r.dirs = append(r.dirs, layer)
	}
	return r, nil
}

// Params returns every weight in PyTorch's order: per layer, per direction,
// weight_ih, weight_hh, bias_ih, bias_hh (then the peephole weights, if any).
func (r *RNN[T]) Params() []*Tensor[T] {
	var ps []*Tensor[T]
	for _, layer := range r.dirs {
		for _, p := range layer {
			ps = append(ps, p.wih, p.whh, p.bih, p.bhh)
			if p.peep != nil {
				ps = append(ps, p.peep)
			}
		}
	}
	return ps
}

// Forward runs the stack over x [T, B, InputSize]. lengths[b] ≤ T is the length of
// sequence b; steps at or past it are padding: they change no state, their outputs
// are zero and they get no gradient. init holds the initial states (nil tensors mean
// zeros); rng draws dropout masks between layers (nil: no dropout, as in evaluation).
//
// It returns the last layer's outputs [T, B, OutputSize] (forward and reverse
// concatenated) and the final states of every layer and direction. For the reverse
// direction the final state is the one after reading step 0, and that direction
// starts at each sequence's own last token.
func (r *RNN[T]) Forward(tp *Tape, x *Tensor[T], lengths []int, init State[T], rng *rand.Rand) (*Tensor[T], State[T]) {
	if len(x.Shape) != 3 || x.Shape[2] != r.Config.InputSize {
		panic(fmt.Sprintf("nn: RNN input has shape %v, want [T, B, %d]", x.Shape, r.Config.InputSize))
	}
	return r.forward(tp, x, nil, x.Shape[0], x.Shape[1], lengths, init, rng)
}

// gather is a first layer direction's input projection looked up rather than
// computed (Lookup): table holds x·W_ihᵀ + b for every token [vocab, G·H].
type gather[T Float] struct {
	table []T
	ids   []int32 // [T, B]
}

// forward is Forward over steps×B inputs: x, or for the first layer, when
// first is not nil, the projections first[d] gathers.
// Long on purpose: the layer and direction loop, dropout between
// layers and the recorded backward that replays them in reverse share the
// per-layer caches.
func (r *RNN[T]) forward(tp *Tape, x *Tensor[T], first []gather[T], steps, B int, lengths []int, init State[T], rng *rand.Rand) (*Tensor[T], State[T]) {
	cfg := &r.Config
	H := cfg.HiddenSize
	if len(lengths) != B {
		panic(fmt.Sprintf("nn: RNN got %d lengths for a batch of %d", len(lengths), B))
	}
	for b, n := range lengths {
		if n < 0 || n > steps {
			panic(fmt.Sprintf("nn: RNN length %d of sequence %d outside [0, %d]", n, b, steps))
		}
	}
	lengths = slices.Clone(lengths) // the backward pass reads them later
	L, D, G := cfg.layers(), cfg.dirs(), cfg.Cell.gates()
	stateShape := []int{L * D, B, H}
	checkState := func(s *Tensor[T], what string) {
		if s != nil && numel(s.Shape) != L*D*B*H {
			panic(fmt.Sprintf("nn: RNN initial %s has shape %v, want %v", what, s.Shape, stateShape))
		}
	}
	checkState(init.H, "hidden state")
	checkState(init.C, "cell state")
	final := State[T]{H: NewTensor[T](stateShape...)}
	if cfg.Cell == LSTM {
		final.C = NewTensor[T](stateShape...)
	}
	BH := B * H
	part := func(s *Tensor[T], idx int) []T {
		if s == nil {
			return nil
		}
		return s.Data[idx*BH : (idx+1)*BH]
	}

	in := x
	for l := 0; l < L; l++ {
		out := NewTensor[T](steps, B, D*H)
		caches := make([]*dirCache[T], D)
		var xs []T
		if in != nil {
			xs = in.Data
		}
		wmasks := make([][]T, D) // weight dropout, drawn in order before the directions start
		if rng != nil && cfg.WeightDropout > 0 {
			for d, p := range r.dirs[l] {
				wmasks[d] = dropMask[T](p.whh.Len(), cfg.WeightDropout, rng)
			}
		}
		eachDir(D, func(d, procs int) {
			idx := l*D + d
			var g *gather[T]
			if l == 0 && first != nil {
				g = &first[d]
			}
			caches[d] = r.dirs[l][d].forward(cfg, xs, g, wmasks[d], steps, B, lengths,
				part(init.H, idx), part(init.C, idx), out.Data, d*H, D*H,
				part(final.H, idx), part(final.C, idx), tp.Recording(), procs)
		})
		layerIn, layerOut, l := in, out, l
		tp.Record(func() {
			if layerOut.Grad == nil && final.H.Grad == nil && (final.C == nil || final.C.Grad == nil) {
				return // no gradient reached this layer (a detached segment, an unused output)
			}
			all := make([]dirGrads[T], D)
			for d := 0; d < D; d++ {
				idx := l*D + d
				grads := dirGrads[T]{dx: layerIn.EnsureGrad(), dy: layerOut.Grad}
				if final.H.Grad != nil {
					grads.dhn = final.H.Grad[idx*BH : (idx+1)*BH]
				}
				if final.C != nil && final.C.Grad != nil {
					grads.dcn = final.C.Grad[idx*BH : (idx+1)*BH]
				}
				if init.H != nil {
					grads.dh0 = init.H.EnsureGrad()[idx*BH : (idx+1)*BH]
				}
				if init.C != nil {
					grads.dc0 = init.C.EnsureGrad()[idx*BH : (idx+1)*BH]
				}
				all[d] = grads
			}
			dXW := make([][]T, D)
			eachDir(D, func(d, procs int) {
				dXW[d] = r.dirs[l][d].backward(cfg, caches[d], lengths, d*H, D*H, all[d], procs)
			})
			// The input gradient, which both directions add to: one after the
			// other, on all cores.
			for d, p := range r.dirs[l] {
				Gemm(false, false, steps*B, p.in, G*H, 1, dXW[d], G*H, p.wih.Data, p.in, 1, all[d].dx, p.in)
			}
			// The tape replays this once: the pass's buffers go back.
			for d := range D {
				giveBack(dXW[d])
				giveBack(caches[d].buf)
			}
		})
		if l < L-1 {
			out = Dropout(tp, out, cfg.Dropout, cfg.Variational, rng)
		}
		in = out
	}
	return in, final
}

// dirCache keeps what one layer-direction's backward pass needs.
type dirCache[T Float] struct {
	x      []T // input [T, B, in]
	steps  int
	batch  int
	gates  []T // post-activation gates [T, B, G·H]; for Elman cells, h itself
	states []T // hidden states [(T+1), B, H]: see slot
	cells  []T // LSTM cell states, same layout as states
	hn     []T // GRU: W_hn h + b_hn for each step [T, B, H]
	whh    []T // the recurrent weights the pass used (after weight dropout)
	wmask  []T // the weight dropout factors; nil without
	buf    []T // the borrowed buffer gates, states, cells and hn lie in
}

// slot returns the index in dirCache.states of the state before (prev) and after
// (cur) step t. The forward direction keeps h0 in slot 0 and h after step t in t+1;
// the reverse direction keeps h0 in slot T and h after step t in t. Either way the
// states before all steps and the states after all steps are contiguous, so the
// recurrent weight gradient is one GEMM.
func slot(reverse bool, t, steps int) (prev, cur int) {
	if reverse {
		return t + 1, t
	}
	return t, t + 1
}

type dirGrads[T Float] struct {
	dy       []T // gradient of the stacked output [T, B, D·H], nil when unused
	dhn, dcn []T // gradient of the final states [B, H], nil when unused
	dx       []T // accumulates the input gradient [T, B, in]
	dh0, dc0 []T // accumulate the initial-state gradients, nil when the state was zeros
}

// forward runs one direction of one layer. It writes the outputs into out at column
// offset off of rows of width stride, and the final states into hn, cn.
// The products and the gate loops use at most procs cores (0: all).
// Long on purpose: the four cells' gate loops sit beside each other so that
// each reads against its backward twin below.
func (p *rnnDir[T]) forward(cfg *RNNConfig, x []T, look *gather[T], wmask []T, steps, B int, lengths []int,
	h0, c0, out []T, off, stride int, hn, cn []T, keep bool, procs int) *dirCache[T] {
	H, G := cfg.HiddenSize, cfg.Cell.gates()
	GH, BH := G*H, B*H
	cell := cfg.Cell
	// Looked-up input projections are copied step by step, by the core that
	// sweeps the rows, into one step's buffer that stays in cache: copied all
	// at once they would go out to memory and back, on one core.
	gateSteps := steps
	if look != nil {
		if keep {
			panic("nn: a Lookup's pass has no backward")
		}
		gateSteps = 1
	}

	// The pass's buffers in one piece: borrowed for inference, whose buffers
	// die with the pass, made for training, whose backward pass keeps them.
	n := gateSteps*B*GH + (steps+1)*BH
	if cell == LSTM {
		n += (steps + 1) * BH
	}
	if cell == GRU {
		n += steps*BH + B*GH
	}
	// Training's buffers are borrowed too, and given back once the backward
	// pass is done with them: made afresh for every pass, their zeroing by the
	// runtime (page faults and madvise on new memory) and the collector's work
	// were a sixth of an atis-joint epoch. They are not cleared either (3 ms of
	// the classifier benchmark's 60 on one core of an AMD EPYC, AVX2 kernels):
	// every value the backward
	// pass reads is written first (TestBorrowedNotCleared).
	buf := borrow[T](n)
	whole := buf
	if !keep {
		defer giveBack(buf)
	}
	take := func(n int) []T {
		s := buf[:n:n]
		buf = buf[n:]
		return s
	}

	// Input projection for all steps: one GEMM (unless looked up).
	gates := take(gateSteps * B * GH)
	if look == nil {
		gemmBias(procs, false, true, steps*B, GH, p.in, x, p.in, p.wih.Data, p.in, p.inputBias(cell), gates, GH)
	}

	states := take((steps + 1) * BH)
	var cells, hnBuf, hw []T
	if cell == LSTM {
		cells = take((steps + 1) * BH)
	}
	if cell == GRU {
		hnBuf = take(steps * BH)
		hw = take(B * GH)
	}
	first := 0 // slot of the initial state
	if p.reverse {
		first = steps
	}
	// Every step writes its state slots, every row; only the initial slots
	// are read before being written (a borrowed buffer is not zeroed).
	if h0 != nil {
		copy(states[first*BH:(first+1)*BH], h0)
	} else {
		clear(states[first*BH : (first+1)*BH])
	}
	if cells != nil {
		if c0 != nil {
			copy(cells[first*BH:(first+1)*BH], c0)
		} else {
			clear(cells[first*BH : (first+1)*BH])
		}
	}
	var peep []T
	if p.peep != nil {
		peep = p.peep.Data
	}

	// h_prev · W_hhᵀ at every step: W_hh (with its weight dropout) packed once
	// per pass.
	w := p.whh.Data
	if wmask != nil {
		w = make([]T, len(w))
		for i, v := range p.whh.Data {
			w[i] = v * wmask[i]
		}
	}
	whh := packRecurrent(w, true, H, GH, steps)
	// A GRU's inference reads its looked-up input projections in place,
	// rather than copying each row to the gates buffer for gruStep to
	// overwrite.
	inPlace := look != nil && !keep && cell == GRU
	// sweep runs every step for the batch rows [b0, b1) on at most procs cores.
	sweep := func(b0, b1, procs int) {
		// The step's variables live outside the loop, so the gate loop is one
		// closure for the whole sweep rather than an allocation at every step.
		var t, tn, ps, cs int
		var hprev, hcur, g []T
		gateRows := func(lo, hi int) {
			for b := b0 + lo; b < b0+hi; b++ {
				hp, hc := hprev[b*H:(b+1)*H], hcur[b*H:(b+1)*H]
				gr := g[b*GH : (b+1)*GH]
				if t >= lengths[b] {
					copy(hc, hp)
					if cells != nil {
						copy(cells[cs*BH+b*H:cs*BH+(b+1)*H], cells[ps*BH+b*H:ps*BH+(b+1)*H])
					}
					clear(gr)
					continue
				}
				switch cell {
				case RNNTanh:
					tanhTo(hc, gr[:H])
					copy(gr, hc)
				case RNNReLU:
					for j := range hc {
						hc[j] = max(gr[j], 0)
						gr[j] = hc[j]
					}
				case LSTM:
					cp, cc := cells[ps*BH+b*H:ps*BH+(b+1)*H], cells[cs*BH+b*H:cs*BH+(b+1)*H]
					lstmStep(gr, cp, cc, hc, peep, H, cfg.NoForgetGate)
				case GRU:
					if inPlace {
						// The next step's table row, asked for now so that it
						// arrives while this step computes: a large table (the
						// benchmark classifier's 20,000 words are 61 MB) is
						// read from memory, not from the caches.
						if tn >= 0 {
							id := int(look.ids[tn*B+b])
							prefetch(look.table[id*GH : (id+1)*GH])
						}
						id := int(look.ids[t*B+b])
						gruInfer(look.table[id*GH:(id+1)*GH], hw[b*GH:(b+1)*GH], hp, hc)
						break
					}
					gruStep(gr, hw[b*GH:(b+1)*GH], hp, hc, hnBuf[t*BH+b*H:t*BH+(b+1)*H])
				}
				o := out[(t*B+b)*stride+off : (t*B+b)*stride+off+H]
				copy(o, hc)
			}
		}
		for s := 0; s < steps; s++ {
			t, tn = stepAt(p.reverse, s, steps), -1
			if s+1 < steps {
				tn = stepAt(p.reverse, s+1, steps)
			}
			ps, cs = slot(p.reverse, t, steps)
			hprev, hcur = states[ps*BH:(ps+1)*BH], states[cs*BH:(cs+1)*BH]
			if inPlace {
				g = gates // its rows are not read: each step reads its table rows in place
			} else if look != nil {
				g = gates
				for b := b0; b < b1; b++ {
					id := int(look.ids[t*B+b])
					copy(g[b*GH:(b+1)*GH], look.table[id*GH:(id+1)*GH])
					if tn >= 0 {
						id := int(look.ids[tn*B+b])
						prefetch(look.table[id*GH : (id+1)*GH])
					}
				}
			} else {
				g = gates[t*B*GH : (t+1)*B*GH]
			}
			if cell == GRU {
				gemmPackedBiasOn(procs, b1-b0, hprev[b0*H:], H, whh, p.bhh.Data, hw[b0*GH:], GH)
			} else {
				gemmPackedOn(procs, b1-b0, 1, hprev[b0*H:], H, whh, 1, g[b0*GH:], GH)
			}
			// The gate nonlinearities, row by row: shared among the cores when
			// the step is large enough (the GEMM above already is).
			parallelRows(procs, b1-b0, (b1-b0)*GH, gateRows)
		}
	}
	byRows(B, procs, sweep)
	last := steps - first // slot of the final state
	copy(hn, states[last*BH:(last+1)*BH])
	if cn != nil {
		copy(cn, cells[last*BH:(last+1)*BH])
	}
	if !keep {
		return nil
	}
	return &dirCache[T]{x: x, steps: steps, batch: B, gates: gates, states: states, cells: cells, hn: hnBuf, whh: w, wmask: wmask, buf: whole}
}

// inputBias is the bias added to the input projection: b_ih, and b_hh too
// except for the GRU, whose b_hn sits inside the reset gate's product.
func (p *rnnDir[T]) inputBias(cell Cell) []T {
	bias := slices.Clone(p.bih.Data)
	if cell != GRU {
		for j, v := range p.bhh.Data {
			bias[j] += v
		}
	}
	return bias
}

// stepAt is the time index of the s-th step a direction processes.
func stepAt(reverse bool, s, steps int) int {
	if reverse {
		return steps - 1 - s
	}
	return s
}

// lstmStep applies the LSTM gate nonlinearities to the pre-activations gr (i, f, g, o
// blocks), which it overwrites with the activations, and computes the new cell state
// cc and hidden state hc from the previous cell state cp.
func lstmStep[T Float](gr, cp, cc, hc, peep []T, H int, noForget bool) {
	i, f, g, o := gr[:H], gr[H:2*H], gr[2*H:3*H], gr[3*H:4*H]
	if peep != nil {
		for j, c := range cp[:H] {
			i[j] += peep[j] * c
			f[j] += peep[H+j] * c
		}
	}
	if noForget {
		sigmoidTo(i, i)
		for j := range f {
			f[j] = 1
		}
	} else {
		sigmoidTo(gr[:2*H], gr[:2*H])
	}
	tanhTo(g, g)
	for j := range cc[:H] {
		cc[j] = f[j]*cp[j] + i[j]*g[j]
	}
	if peep != nil {
		for j, c := range cc[:H] {
			o[j] += peep[2*H+j] * c
		}
	}
	sigmoidTo(o, o)
	tanhTo(hc[:H], cc[:H])
	for j, v := range o {
		hc[j] *= v
	}
}

// backward is one direction's backpropagation through time. Per step it does one
// elementwise pass and one GEMM (the recurrent one); the weight gradients are one
// GEMM each after the sweep. It returns the gradient of the input
// pre-activations [T, B, G·H], from which the caller computes the input
// gradient (gr.dx is shared by the directions). The products use at most procs
// cores (0: all). Long on purpose: the four cells' BPTT steps, each the
// derivative of its forward twin above, line for line.
func (p *rnnDir[T]) backward(cfg *RNNConfig, c *dirCache[T], lengths []int, off, stride int, gr dirGrads[T], procs int) []T {
	H, G := cfg.HiddenSize, cfg.Cell.gates()
	steps, B := c.steps, c.batch
	GH, BH := G*H, B*H
	cell := cfg.Cell

	// The gradients of the input and the recurrent pre-activations; every row is
	// written by the sweep (a padded row with zeros), so that borrowed buffers
	// need no clearing first, which on one core took 4 ms of the classifier
	// benchmark's 60 (AMD EPYC, AVX2 kernels). dXW is given back by the caller.
	dXW := borrow[T](steps * B * GH)
	dHW := dXW
	if cell == GRU {
		dHW = borrow[T](steps * B * GH)
		defer giveBack(dHW)
	}
	dh, dhPrev := make([]T, BH), make([]T, BH)
	if gr.dhn != nil {
		copy(dh, gr.dhn)
	}
	var dc, dcPrev, peep, dpeep []T
	if cell == LSTM {
		dc, dcPrev = make([]T, BH), make([]T, BH)
		if gr.dcn != nil {
			copy(dc, gr.dcn)
		}
		if p.peep != nil {
			peep, dpeep = p.peep.Data, p.peep.EnsureGrad()
		}
	}

	whh := packRecurrent(c.whh, false, GH, H, steps)
	// sweep runs every step back for the batch rows [b0, b1) on at most procs
	// cores. Its rows of dh, dc and their Prev buffers swap at each step, as
	// the caller's do below.
	sweep := func(b0, b1, procs int) {
		dh, dhPrev, dc, dcPrev := dh, dhPrev, dc, dcPrev
		var tcs []T // tanh(c) for the Go loop of the LSTM's rarer forms
		if cell == LSTM && (peep != nil || cfg.NoForgetGate) {
			tcs = make([]T, H)
		}
		for s := steps - 1; s >= 0; s-- {
			t := stepAt(p.reverse, s, steps)
			ps, cs := slot(p.reverse, t, steps)
			hprev := c.states[ps*BH : (ps+1)*BH]
			g := c.gates[t*B*GH : (t+1)*B*GH]
			dgx, dgh := dXW[t*B*GH:(t+1)*B*GH], dHW[t*B*GH:(t+1)*B*GH]
			for b := b0; b < b1; b++ {
				if t >= lengths[b] {
					// No gradient for the weights from a padded row
					// (dgh is dgx but for the GRU).
					clear(dgx[b*GH : (b+1)*GH])
					if cell == GRU {
						clear(dgh[b*GH : (b+1)*GH])
					}
					continue
				}
				dhb := dh[b*H : (b+1)*H]
				if gr.dy != nil {
					dyb := gr.dy[(t*B+b)*stride+off : (t*B+b)*stride+off+H]
					axpy(dhb, dyb, 1) // 1·v is v: the bits of dhb[j] += v
				}
				gb, dxb, dhwb := g[b*GH:(b+1)*GH], dgx[b*GH:(b+1)*GH], dgh[b*GH:(b+1)*GH]
				switch cell {
				case RNNTanh:
					for j, d := range dhb {
						dxb[j] = d * (1 - gb[j]*gb[j])
					}
				case RNNReLU:
					for j, d := range dhb {
						dxb[j] = 0
						if gb[j] > 0 {
							dxb[j] = d
						}
					}
				case LSTM:
					cp := c.cells[ps*BH+b*H : ps*BH+(b+1)*H]
					cc := c.cells[cs*BH+b*H : cs*BH+(b+1)*H]
					dcb, dcp := dc[b*H:(b+1)*H], dcPrev[b*H:(b+1)*H]
					if peep == nil && !cfg.NoForgetGate {
						lstmBack(dhb, dcb, gb, cp, cc, dxb, dcp)
						break
					}
					// Peepholes or no forget gate: the same step in Go.
					tanhTo(tcs, cc)
					for j := 0; j < H; j++ {
						i, f, gg, o := gb[j], gb[H+j], gb[2*H+j], gb[3*H+j]
						tc := tcs[j]
						dao := dhb[j] * tc * o * (1 - o)
						dct := dcb[j] + dhb[j]*o*(1-tc*tc)
						if peep != nil {
							dct += dao * peep[2*H+j]
						}
						dai := dct * gg * i * (1 - i)
						var daf T
						if !cfg.NoForgetGate {
							daf = dct * cp[j] * f * (1 - f)
						}
						dxb[j], dxb[H+j], dxb[2*H+j], dxb[3*H+j] = dai, daf, dct*i*(1-gg*gg), dao
						dcp[j] = dct * f
						if peep != nil {
							dcp[j] += dai*peep[j] + daf*peep[H+j]
							dpeep[j] += dai * cp[j]
							dpeep[H+j] += daf * cp[j]
							dpeep[2*H+j] += dao * cc[j]
						}
					}
				case GRU:
					hp := hprev[b*H : (b+1)*H]
					hnv := c.hn[t*BH+b*H : t*BH+(b+1)*H]
					gruBack(dhb, gb, hp, hnv, dxb, dhwb)
				}
			}
			// dh_prev = dHW_t · W_hh, plus the direct paths; padded rows pass through.
			gemmPackedOn(procs, b1-b0, 1, dgh[b0*GH:], GH, whh, 0, dhPrev[b0*H:], H)
			for b := b0; b < b1; b++ {
				dhb, dpb := dh[b*H:(b+1)*H], dhPrev[b*H:(b+1)*H]
				if t >= lengths[b] {
					copy(dpb, dhb)
					if dc != nil {
						copy(dcPrev[b*H:(b+1)*H], dc[b*H:(b+1)*H])
					}
					continue
				}
				if cell == GRU {
					gb := g[b*GH : (b+1)*GH]
					for j, d := range dhb {
						dpb[j] += d * gb[H+j]
					}
				}
			}
			dh, dhPrev = dhPrev, dh
			dc, dcPrev = dcPrev, dc
		}
	}
	if peep != nil {
		// The peephole gradients sum over the rows: one sweep keeps that sum in order.
		sweep(0, B, procs)
	} else {
		byRows(B, procs, sweep)
	}
	if steps%2 == 1 {
		dh, dhPrev = dhPrev, dh
		dc, dcPrev = dcPrev, dc
	}

	// Weight, bias and input gradients: one GEMM each over all steps.
	n := steps * B
	prevSlab := c.states[0 : steps*BH]
	if p.reverse {
		prevSlab = c.states[BH : (steps+1)*BH]
	}
	gemmOn(procs, true, false, GH, p.in, n, 1, dXW, GH, c.x, p.in, 1, p.wih.EnsureGrad(), p.in)
	if c.wmask == nil {
		gemmOn(procs, true, false, GH, H, n, 1, dHW, GH, prevSlab, H, 1, p.whh.EnsureGrad(), H)
	} else { // through the dropped weights back to the kept ones
		dw := make([]T, GH*H)
		gemmOn(procs, true, false, GH, H, n, 1, dHW, GH, prevSlab, H, 0, dw, H)
		gw := p.whh.EnsureGrad()
		for i, v := range dw {
			gw[i] += v * c.wmask[i]
		}
	}
	colSum(p.bih.EnsureGrad(), dXW, n, GH)
	colSum(p.bhh.EnsureGrad(), dHW, n, GH)
	if gr.dh0 != nil {
		for i, v := range dh {
			gr.dh0[i] += v
		}
	}
	if gr.dc0 != nil && dc != nil {
		for i, v := range dc {
			gr.dc0[i] += v
		}
	}
	return dXW
}

// colSum adds the column sums of the rows×cols matrix m to dst.
func colSum[T Float](dst, m []T, rows, cols int) {
	for r := 0; r < rows; r++ {
		axpy(dst[:cols], m[r*cols:(r+1)*cols], 1)
	}
}

// Select returns the state with its batch rows chosen by rows (see [SelectBatch]).
func (s State[T]) Select(rows []int) State[T] {
	return State[T]{H: SelectBatch(s.H, rows), C: SelectBatch(s.C, rows)}
}

// packRecurrent prepares the recurrent weights W_hh ([G·H, H]) as op(B), k×n, for
// a pass of the given number of steps: packed when there is more than one step to
// share the packing, as they are for a single step (one step of decoding).
func packRecurrent[T Float](w []T, trans bool, k, n, steps int) *Packed[T] {
	ld := n
	if trans {
		ld = k
	}
	if steps > 1 {
		return Pack(trans, k, n, w, ld)
	}
	return &Packed[T]{transB: trans, k: k, n: n, b: w, ldb: ld}
}

// parallelRowsMin is the size of a step's elementwise work (rows × gates) from
// which its rows are shared among the cores. Measured: a step of 32 × 512 (the
// tagger's directions) lost 6% split; 32 × 768 gained 40%, 64 × 768 60%.
const parallelRowsMin = 20000

// parallelRows runs f over the rows [0, B) of a step, split among the cores
// (at most procs of them, 0 meaning all) when the step's work is large enough
// to pay for it.
func parallelRows(procs, B, work int, f func(lo, hi int)) {
	if work < parallelRowsMin || B < 2 {
		f(0, B)
		return
	}
	parallelOn(procs, B, f)
}

// rowsPerCore is the fewest batch rows a core sweeps on its own (byRows).
const rowsPerCore = 8

// byRows runs sweep over the batch rows [0, B). The rows of a batch are
// independent through all the steps of a layer, so when there are enough of
// them each core sweeps its own share from the first step to the last, with
// no goroutine started or joined per step; with few rows, one sweep shares
// each step's work among the cores instead. Either way every value is the
// same bits.
func byRows(B, procs int, sweep func(b0, b1, procs int)) {
	if procs <= 0 {
		procs = runtime.GOMAXPROCS(0)
	}
	parts := min(procs, B/rowsPerCore)
	if parts < 2 {
		sweep(0, B, procs)
		return
	}
	var wg sync.WaitGroup
	for w := 1; w < parts; w++ {
		wg.Go(func() { sweep(B*w/parts, B*(w+1)/parts, 1) })
	}
	sweep(0, B/parts, 1)
	wg.Wait()
}

// eachDir runs f for each of a layer's D directions. The two directions of a
// bidirectional layer are independent until the next layer, so they run side
// by side, each on half the cores (procs): no goroutine starts or joins per
// step, where splitting one direction's small step products and gate loops
// between the cores costs nearly as much as it saves. The results are the same
// bits either way (each product sums in the same order on any number of cores).
func eachDir(D int, f func(d, procs int)) {
	cores := runtime.GOMAXPROCS(0)
	if D < 2 || cores < 2 {
		for d := range D {
			f(d, 0)
		}
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() { f(1, cores/2) })
	f(0, cores-cores/2)
	wg.Wait()
}
