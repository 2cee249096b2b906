// Package serve answers predictions of a trained model over HTTP: JSON in and
// out (POST /v1/predict), a health check (GET /healthz) and Prometheus metrics
// (GET /metrics). Concurrent requests are batched dynamically: their inputs
// queue, and a batch is predicted when it holds MaxBatch inputs or its first
// input has waited MaxWait, so that many small requests share the model's
// matrix products. Every size a client controls is bounded: the body, the
// inputs of a request and each input's bytes, and the requests in flight
// (more are answered 429 at once instead of queueing without end).
package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Predictor predicts a batch of texts, one output row (a JSON object) per
// text: model.Model.
type Predictor interface {
	PredictTexts(texts []string) ([]map[string]any, error)
}

// Options bound and tune a Server; New fills zero fields with the defaults.
type Options struct {
	// MaxBatch is the most inputs predicted together (1: no batching;
	// default 64).
	MaxBatch int
	// MaxWait is how long a batch's first input waits for others (0: a batch
	// takes only the inputs already queued).
	MaxWait time.Duration
	// MaxBody bounds a request's body in bytes (default 1 MiB).
	MaxBody int64
	// MaxInputs bounds the inputs of one request (default 256).
	MaxInputs int
	// MaxInputBytes bounds one input (default 16 KiB).
	MaxInputBytes int
	// MaxInFlight bounds the requests being answered; one more gets 429
	// (default 256).
	MaxInFlight int
}

func (o Options) withDefaults() Options {
	or := func(v, d int) int {
		if v <= 0 {
			return d
		}
		return v
	}
	o.MaxBatch = or(o.MaxBatch, 64)
	o.MaxInputs = or(o.MaxInputs, 256)
	o.MaxInputBytes = or(o.MaxInputBytes, 16<<10)
	o.MaxInFlight = or(o.MaxInFlight, 256)
	if o.MaxBody <= 0 {
		o.MaxBody = 1 << 20
	}
	return o
}

// Server is the HTTP front of one model. Run its batcher (Run) beside the
// http.Server that serves Handler.
type Server struct {
	p        Predictor
	opt      Options
	queue    chan []item // a request's inputs, at most MaxBatch of them
	inFlight chan struct{}
	draining atomic.Bool
	m        metrics
}

// item is one input waiting for its prediction.
type item struct {
	text string
	out  chan<- result
	i    int // its place in the request
}

type result struct {
	i   int
	row map[string]any
	err error
}

// New returns a server of p.
func New(p Predictor, opt Options) *Server {
	opt = opt.withDefaults()
	// The queue holds one run of inputs per request in flight; a request
	// with more runs waits to send them.
	return &Server{p: p, opt: opt, queue: make(chan []item, min(opt.MaxInFlight, 4096)),
		inFlight: make(chan struct{}, opt.MaxInFlight), m: newMetrics()}
}

// Options are the server's options, defaults filled in.
func (s *Server) Options() Options { return s.opt }

// Drain makes /healthz answer 503, so that a load balancer stops sending
// requests; those in flight are still answered (http.Server.Shutdown waits
// for them).
func (s *Server) Drain() { s.draining.Store(true) }

// Run predicts the queued inputs batch by batch until ctx is done and every
// queued input is answered. Start it before serving.
func (s *Server) Run(ctx context.Context) {
	var held []item // a request's inputs that did not fit the last batch
	for {
		first := held
		if first == nil {
			select {
			case first = <-s.queue:
			case <-ctx.Done():
				// Inputs queued before the end are still answered.
				for {
					select {
					case its := <-s.queue:
						s.predict(its)
					default:
						return
					}
				}
			}
		}
		var batch []item
		batch, held = s.gather(first)
		s.predict(batch)
	}
}

// gather adds to first the requests' inputs that queue within MaxWait, up to
// MaxBatch (without MaxWait, or when no other request is in flight, those
// queued already). A request's inputs stay together: the inputs of one that
// would overflow the batch are returned as held, to begin the next.
func (s *Server) gather(first []item) (batch, held []item) {
	batch = first
	var wait <-chan time.Time // nil without MaxWait
	if s.opt.MaxWait > 0 {
		timer := time.NewTimer(s.opt.MaxWait)
		defer timer.Stop()
		wait = timer.C
	}
	for requests := 1; len(batch) < s.opt.MaxBatch; requests++ {
		var its []item
		// Waiting helps only while other requests are in flight: a lone
		// client is answered at once.
		if wait == nil || len(s.inFlight) <= requests {
			select {
			case its = <-s.queue:
			default:
				return batch, nil
			}
		} else {
			select {
			case its = <-s.queue:
			case <-wait:
				return batch, nil
			}
		}
		if len(batch)+len(its) > s.opt.MaxBatch {
			return batch, its
		}
		batch = append(batch, its...)
	}
	return batch, nil
}

// predict answers a batch; when the batch fails as a whole, each input is
// predicted alone, so that one bad input fails only its own request.
func (s *Server) predict(batch []item) {
	texts := make([]string, len(batch))
	for i, it := range batch {
		texts[i] = it.text
	}
	start := time.Now()
	rows, err := s.p.PredictTexts(texts)
	s.m.batch(len(batch), time.Since(start))
	if err == nil && len(rows) != len(batch) {
		err = fmt.Errorf("serve: %d predictions for %d inputs", len(rows), len(batch))
	}
	if err != nil && len(batch) > 1 {
		for _, it := range batch {
			s.predict([]item{it})
		}
		return
	}
	for i, it := range batch {
		r := result{i: it.i, err: err}
		if err == nil {
			r.row = rows[i]
		}
		it.out <- r
	}
}

// request is the body of POST /v1/predict: one input or several.
type request struct {
	Input  *string  `json:"input"`
	Inputs []string `json:"inputs"`
}

// Handler serves /v1/predict, /healthz and /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/predict", s.handlePredict)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		s.m.write(w, len(s.inFlight))
	})
	return mux
}

func (s *Server) handlePredict(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	code := s.answer(w, r)
	s.m.request(code, time.Since(start))
}

// answer handles one prediction request and returns its status code.
func (s *Server) answer(w http.ResponseWriter, r *http.Request) int {
	select {
	case s.inFlight <- struct{}{}:
		defer func() { <-s.inFlight }()
	default:
		return fail(w, http.StatusTooManyRequests, fmt.Sprintf("more than %d requests in flight; retry later", s.opt.MaxInFlight))
	}
	var req request
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.opt.MaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is over %d bytes", s.opt.MaxBody))
		}
		return fail(w, http.StatusBadRequest, `want {"inputs": ["text", …]} or {"input": "text"}: `+err.Error())
	}
	inputs := req.Inputs
	if req.Input != nil {
		if inputs != nil {
			return fail(w, http.StatusBadRequest, `give "input" or "inputs", not both`)
		}
		inputs = []string{*req.Input}
	}
	switch {
	case len(inputs) == 0:
		return fail(w, http.StatusBadRequest, `no input: want {"inputs": ["text", …]} or {"input": "text"}`)
	case len(inputs) > s.opt.MaxInputs:
		return fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%d inputs, more than %d in one request", len(inputs), s.opt.MaxInputs))
	}
	for i, in := range inputs {
		if len(in) > s.opt.MaxInputBytes {
			return fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("input %d is %d bytes, more than %d", i+1, len(in), s.opt.MaxInputBytes))
		}
		if strings.TrimSpace(in) == "" {
			return fail(w, http.StatusBadRequest, fmt.Sprintf("input %d is empty", i+1))
		}
	}
	out := make(chan result, len(inputs))
	its := make([]item, len(inputs))
	for i, in := range inputs {
		its[i] = item{text: in, out: out, i: i}
	}
	// A request's inputs queue in runs of at most MaxBatch, each run
	// predicted in one batch.
	for len(its) > 0 {
		n := min(len(its), s.opt.MaxBatch)
		s.queue <- its[:n:n]
		its = its[n:]
	}
	rows := make([]map[string]any, len(inputs))
	for range inputs {
		res := <-out
		if res.err != nil {
			return fail(w, http.StatusUnprocessableEntity, fmt.Sprintf("input %d: %v", res.i+1, res.err))
		}
		rows[res.i] = res.row
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"predictions": rows})
	return http.StatusOK
}

// fail writes {"error": msg} with the code, and returns the code.
func fail(w http.ResponseWriter, code int, msg string) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
	return code
}

// metrics are the Prometheus counters and histograms of a Server.
type metrics struct {
	mu        sync.Mutex
	requests  map[int]int64
	latency   histogram // seconds per request
	batchSize histogram // inputs per batch
	batchTime histogram // seconds per batch's prediction
	inputs    int64
}

func newMetrics() metrics {
	return metrics{requests: map[int]int64{},
		latency:   histogram{bounds: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}},
		batchSize: histogram{bounds: []float64{1, 2, 4, 8, 16, 32, 64, 128}},
		batchTime: histogram{bounds: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25}}}
}

func (m *metrics) request(code int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[code]++
	m.latency.observe(d.Seconds())
}

func (m *metrics) batch(n int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inputs += int64(n)
	m.batchSize.observe(float64(n))
	m.batchTime.observe(d.Seconds())
}

func (m *metrics) write(w http.ResponseWriter, inFlight int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintln(w, "# HELP seqkit_requests_total Prediction requests answered, by status code.")
	fmt.Fprintln(w, "# TYPE seqkit_requests_total counter")
	for _, code := range []int{200, 400, 413, 422, 429} {
		fmt.Fprintf(w, "seqkit_requests_total{code=\"%d\"} %d\n", code, m.requests[code])
	}
	fmt.Fprintln(w, "# HELP seqkit_inputs_total Inputs predicted.")
	fmt.Fprintln(w, "# TYPE seqkit_inputs_total counter")
	fmt.Fprintf(w, "seqkit_inputs_total %d\n", m.inputs)
	fmt.Fprintln(w, "# HELP seqkit_in_flight Requests being answered.")
	fmt.Fprintln(w, "# TYPE seqkit_in_flight gauge")
	fmt.Fprintf(w, "seqkit_in_flight %d\n", inFlight)
	m.latency.write(w, "seqkit_request_duration_seconds", "Time to answer a prediction request.")
	m.batchSize.write(w, "seqkit_batch_size", "Inputs predicted together.")
	m.batchTime.write(w, "seqkit_batch_duration_seconds", "Time to predict one batch.")
}

// histogram is a Prometheus histogram: cumulative counts per upper bound.
type histogram struct {
	bounds []float64
	counts []int64 // per bound, then +Inf
	sum    float64
}

func (h *histogram) observe(v float64) {
	if h.counts == nil {
		h.counts = make([]int64, len(h.bounds)+1)
	}
	i := 0
	for i < len(h.bounds) && v > h.bounds[i] {
		i++
	}
	h.counts[i]++
	h.sum += v
}

func (h *histogram) write(w http.ResponseWriter, name, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	var cum int64
	for i, b := range h.bounds {
		if h.counts != nil {
			cum += h.counts[i]
		}
		fmt.Fprintf(w, "%s_bucket{le=\"%g\"} %d\n", name, b, cum)
	}
	if h.counts != nil {
		cum += h.counts[len(h.bounds)]
	}
	fmt.Fprintf(w, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %g\n%s_count %d\n", name, cum, name, h.sum, name, cum)
}
