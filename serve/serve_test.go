package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fake predicts each text's length and records the batches it was given;
// a text holding "bad" fails its batch, and block holds every batch until
// it is closed.
type fake struct {
	mu      sync.Mutex
	batches []int
	block   chan struct{}
	entered chan struct{} // with block: told when a batch waits on it
	delay   time.Duration // each batch takes this long
}

func (f *fake) PredictTexts(texts []string) ([]map[string]any, error) {
	if f.block != nil {
		f.entered <- struct{}{}
		<-f.block
	}
	time.Sleep(f.delay)
	f.mu.Lock()
	f.batches = append(f.batches, len(texts))
	f.mu.Unlock()
	rows := make([]map[string]any, len(texts))
	for i, t := range texts {
		if strings.Contains(t, "bad") {
			return nil, errors.New("cannot read it")
		}
		rows[i] = map[string]any{"text": t, "length": len(t)}
	}
	return rows, nil
}

func (f *fake) maxBatch() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := 0
	for _, b := range f.batches {
		m = max(m, b)
	}
	return m
}

func start(t *testing.T, p Predictor, opt Options) (*Server, *httptest.Server) {
	t.Helper()
	s := New(p, opt)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); cancel(); <-done })
	return s, ts
}

func post(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url+"/v1/predict", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestPredict(t *testing.T) {
	// A lone request does not wait out MaxWait: no other is in flight.
	_, ts := start(t, &fake{}, Options{MaxWait: 5 * time.Second})
	t0 := time.Now()
	code, out := post(t, ts.URL, `{"inputs": ["fly to Boston", "leave Taipei at 5 pm"]}`)
	preds, _ := out["predictions"].([]any)
	if code != 200 || len(preds) != 2 || preds[0].(map[string]any)["text"] != "fly to Boston" || preds[1].(map[string]any)["length"] != float64(20) {
		t.Fatalf("%d %v", code, out)
	}
	if code, out := post(t, ts.URL, `{"input": "one"}`); code != 200 || len(out["predictions"].([]any)) != 1 {
		t.Fatalf("one input: %d %v", code, out)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("two lone requests took %s: they waited for company", d)
	}
}

// TestBatching: concurrent requests share batches, none larger than
// MaxBatch; with MaxBatch 1 every input is a batch of its own. Each batch
// takes 100 ms, so that the requests pile up behind the first.
func TestBatching(t *testing.T) {
	for _, maxBatch := range []int{8, 1} {
		f := &fake{delay: 100 * time.Millisecond}
		_, ts := start(t, f, Options{MaxBatch: maxBatch, MaxWait: 50 * time.Millisecond})
		var wg sync.WaitGroup
		for i := range 24 {
			wg.Go(func() {
				if code, out := post(t, ts.URL, fmt.Sprintf(`{"input": "request %d"}`, i)); code != 200 || out["predictions"].([]any)[0].(map[string]any)["text"] != fmt.Sprintf("request %d", i) {
					t.Errorf("request %d: %d %v", i, code, out)
				}
			})
		}
		wg.Wait()
		if m := f.maxBatch(); (maxBatch == 1 && m != 1) || (maxBatch > 1 && (m < 2 || m > maxBatch)) {
			t.Errorf("max batch %d: batches of up to %d inputs (%v)", maxBatch, m, f.batches)
		}
	}
}

// TestRequestsStayWhole: a request's inputs are predicted in one batch (in
// runs of MaxBatch when it has more), and a request that would overflow a
// batch begins the next instead of being split.
func TestRequestsStayWhole(t *testing.T) {
	f := &fake{delay: 50 * time.Millisecond}
	_, ts := start(t, f, Options{MaxBatch: 4, MaxWait: 50 * time.Millisecond})
	if code, out := post(t, ts.URL, `{"inputs": ["a", "b", "c", "d", "e", "f", "g"]}`); code != 200 || len(out["predictions"].([]any)) != 7 {
		t.Fatalf("%d %v", code, out)
	}
	if fmt.Sprint(f.batches) != "[4 3]" {
		t.Errorf("7 inputs with MaxBatch 4 were predicted in batches %v, want [4 3]", f.batches)
	}
	f.batches = nil
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			if code, _ := post(t, ts.URL, `{"inputs": ["x", "y", "z"]}`); code != 200 {
				t.Errorf("code %d", code)
			}
		})
	}
	wg.Wait()
	for _, b := range f.batches {
		if b != 3 {
			t.Errorf("requests of 3 inputs with MaxBatch 4 were predicted in batches %v: one was split", f.batches)
			break
		}
	}
}

// TestBounds: every size a client sends is bounded, with a status and a
// message that says which.
func TestBounds(t *testing.T) {
	_, ts := start(t, &fake{}, Options{MaxBody: 200, MaxInputs: 3, MaxInputBytes: 20})
	for _, c := range []struct {
		body string
		code int
		msg  string
	}{
		{`{"inputs": ["` + strings.Repeat("x", 300) + `"]}`, 413, "the body is over 200 bytes"},
		{`{"inputs": ["a", "b", "c", "d"]}`, 413, "4 inputs, more than 3"},
		{`{"input": "` + strings.Repeat("x", 21) + `"}`, 413, "input 1 is 21 bytes, more than 20"},
		{`{"inputs": "a"}`, 400, "want {"},
		{`{"text": "a"}`, 400, "unknown field"},
		{`{"input": "a", "inputs": ["b"]}`, 400, "not both"},
		{`{}`, 400, "no input"},
		{`{"inputs": ["a", "  "]}`, 400, "input 2 is empty"},
		{`{"input": "bad one"}`, 422, "input 1: cannot read it"},
	} {
		code, out := post(t, ts.URL, c.body)
		if msg, _ := out["error"].(string); code != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("%.40s: %d %v, want %d %q", c.body, code, out, c.code, c.msg)
		}
	}
}

// TestBadInputAlone: a batch that fails is predicted input by input, so the
// request beside the bad one is answered.
func TestBadInputAlone(t *testing.T) {
	_, ts := start(t, &fake{}, Options{MaxWait: 100 * time.Millisecond})
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i, body := range []string{`{"input": "bad"}`, `{"input": "good"}`} {
		wg.Go(func() { codes[i], _ = post(t, ts.URL, body) })
	}
	wg.Wait()
	if codes[0] != 422 || codes[1] != 200 {
		t.Errorf("codes %v, want [422 200]", codes)
	}
}

// TestInFlight: a request beyond MaxInFlight is refused at once with 429.
func TestInFlight(t *testing.T) {
	f := &fake{block: make(chan struct{}), entered: make(chan struct{}, 1)}
	_, ts := start(t, f, Options{MaxInFlight: 1, MaxBatch: 1})
	first := make(chan int)
	go func() { c, _ := post(t, ts.URL, `{"input": "slow"}`); first <- c }()
	<-f.entered // the first request holds the one place
	if code, out := post(t, ts.URL, `{"input": "second"}`); code != 429 || !strings.Contains(fmt.Sprint(out["error"]), "more than 1 requests in flight") {
		t.Errorf("the second request: %d %v, want 429", code, out)
	}
	close(f.block)
	if c := <-first; c != 200 {
		t.Errorf("the request in flight: %d", c)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	s, ts := start(t, &fake{}, Options{})
	get := func(path string) (int, string) {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("healthz %d", code)
	}
	post(t, ts.URL, `{"inputs": ["a", "b"]}`)
	post(t, ts.URL, `{}`)
	_, m := get("/metrics")
	for _, want := range []string{`seqkit_requests_total{code="200"} 1`, `seqkit_requests_total{code="400"} 1`, "seqkit_inputs_total 2",
		"# TYPE seqkit_request_duration_seconds histogram", `seqkit_batch_size_bucket{le="+Inf"} 1`, "seqkit_in_flight 0"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, m)
		}
	}
	s.Drain()
	if code, _ := get("/healthz"); code != 503 {
		t.Errorf("healthz while draining: %d", code)
	}
	if resp, err := http.Post(ts.URL+"/v1/predict", "application/json", bytes.NewReader([]byte(`{"input":"a"}`))); err != nil || resp.StatusCode != 200 {
		t.Errorf("a request while draining is still answered: %v %v", resp, err)
	}
}
