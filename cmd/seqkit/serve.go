package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/seqkit/seqkit/model"
	"github.com/seqkit/seqkit/serve"
	"github.com/seqkit/seqkit/tasks"
)

// drainTimeout bounds how long a stopping server waits for the requests in
// flight.
const drainTimeout = 30 * time.Second

func newServeCmd(e *env) *cobra.Command {
	var (
		dirs []string
		addr string
		sets []string
		opt  serve.Options
	)
	c := &cobra.Command{
		Use:   "serve -m RUN_DIR [-m RUN_DIR …] [--addr HOST:PORT]",
		Short: "Answer predictions over HTTP (JSON), batching concurrent requests",
		Long: `serve answers predictions of a trained run (or an ensemble: several -m, or a
folder of seeds) over HTTP:

  POST /v1/predict   {"inputs": ["text", …]} or {"input": "text"}
                     → {"predictions": [{…}, …]}, the fields seqkit predict writes
  GET  /healthz      200 "ok"; 503 once the server is stopping
  GET  /metrics      Prometheus metrics: requests by status, latency, batch sizes

Concurrent requests are batched: their inputs wait at most --max-wait for others,
up to --max-batch inputs, and are predicted together (--max-batch 1 turns batching
off). The body, the inputs of a request and each input's bytes are bounded (413),
and so are the requests in flight: one more is answered 429 at once. On SIGTERM or
Ctrl-C the server stops accepting connections, answers the requests in flight
(for at most 30 s) and exits 0.`,
		Example: `  seqkit serve -m runs/taipei
  seqkit serve -m runs/intent-seeds --addr 0.0.0.0:8080 --max-batch 32 --max-wait 5ms
  curl -s localhost:8080/v1/predict -d '{"inputs": ["arrive Taipei on November 2nd"]}'`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if len(dirs) == 0 {
				return usageError{fmt.Errorf("serve needs the run directory: -m RUN_DIR")}
			}
			switch {
			case opt.MaxBatch < 1 || opt.MaxBatch > 4096:
				return usageError{fmt.Errorf("--max-batch must be in [1, 4096], got %d", opt.MaxBatch)}
			case opt.MaxWait < 0 || opt.MaxWait > time.Second:
				return usageError{fmt.Errorf("--max-wait must be in [0, 1s], got %s", opt.MaxWait)}
			case opt.MaxInFlight < 1 || opt.MaxInFlight > 100_000:
				return usageError{fmt.Errorf("--max-in-flight must be in [1, 100000], got %d", opt.MaxInFlight)}
			case opt.MaxInputs < 1 || opt.MaxInputs > 100_000:
				return usageError{fmt.Errorf("--max-inputs must be in [1, 100000], got %d", opt.MaxInputs)}
			case opt.MaxBody < 1 || opt.MaxBody > 1<<30:
				return usageError{fmt.Errorf("--max-body must be in [1, 1 GiB], got %d", opt.MaxBody)}
			case opt.MaxInputBytes < 1 || opt.MaxInputBytes > 16<<20:
				return usageError{fmt.Errorf("--max-input-bytes must be in [1, 16 MiB], got %d", opt.MaxInputBytes)}
			}
			m, err := model.OpenEnsemble(dirs, model.Options{Registry: e.registry(), DataRoot: os.Getenv("SEQKIT_DATA"), BatchSize: opt.MaxBatch, Sets: sets})
			if errors.Is(err, tasks.ErrEnsemble) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			if err := m.PredictsExamples(); err != nil {
				return usageError{err}
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return usageError{fmt.Errorf("--addr %s: %w", addr, err)}
			}
			s := serve.New(m, opt)
			// The batcher outlives the HTTP server: the requests in flight
			// are answered before it stops.
			run, stop := context.WithCancel(context.Background())
			batcher := make(chan struct{})
			go func() { s.Run(run); close(batcher) }()
			defer func() { stop(); <-batcher }()
			srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ln) }()
			// A stopping server drains as long as it must, within drainTimeout.
			e.graceful.Store(true)
			fmt.Fprintf(c.ErrOrStderr(), "seqkit: serving %s on http://%s (POST /v1/predict, GET /healthz, GET /metrics)\n", m.Dir(), ln.Addr())
			select {
			case err := <-served:
				return err
			case <-c.Context().Done():
			}
			s.Drain()
			ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				return fmt.Errorf("stopping: %w (requests still in flight after %s)", err, drainTimeout)
			}
			fmt.Fprintln(c.ErrOrStderr(), "seqkit: stopped; every request in flight was answered")
			return nil
		},
	}
	f := c.Flags()
	f.StringArrayVarP(&dirs, "model", "m", nil, "run directory, or a folder of seeds; repeat it for an ensemble")
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free one)")
	f.StringArrayVar(&sets, "set", nil, "change a decoding option of the model, KEY=VALUE (repeatable), e.g. --set task.beam=5")
	f.IntVar(&opt.MaxBatch, "max-batch", 64, "most inputs predicted together (1: no batching)")
	f.DurationVar(&opt.MaxWait, "max-wait", 2*time.Millisecond, "how long a batch's first input waits for others")
	f.IntVar(&opt.MaxInFlight, "max-in-flight", 256, "requests answered at a time; one more gets 429")
	f.IntVar(&opt.MaxInputs, "max-inputs", 256, "inputs in one request")
	f.IntVar(&opt.MaxInputBytes, "max-input-bytes", 16<<10, "bytes of one input")
	f.Int64Var(&opt.MaxBody, "max-body", 1<<20, "bytes of a request body")
	return c
}
