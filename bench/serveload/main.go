// Command serveload is the load test of seqkit serve: C clients on loopback,
// each posting one input at a time, until N requests are answered or the
// time bound passes. It prints one JSON line: throughput and latency
// percentiles.
//
//	go run ./bench/serveload --url http://127.0.0.1:8080 --clients 16 --requests 2000
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "the server")
	clients := flag.Int("clients", 1, "concurrent clients")
	requests := flag.Int("requests", 1000, "requests in all")
	limit := flag.Duration("time", 30*time.Second, "stop after this long even if requests remain")
	input := flag.String("input", "i want to fly from boston to taipei on november 2nd", "the text each request predicts")
	flag.Parse()
	if *clients < 1 || *clients > 10_000 || *requests < 1 || *requests > 10_000_000 {
		fmt.Fprintln(os.Stderr, "serveload: --clients in [1, 10000], --requests in [1, 10000000]")
		os.Exit(2)
	}
	body, _ := json.Marshal(map[string]string{"input": *input})
	tr := &http.Transport{MaxIdleConnsPerHost: *clients}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var next, failed atomic.Int64
	lat := make([][]time.Duration, *clients)
	deadline := time.Now().Add(*limit)
	start := time.Now()
	var wg sync.WaitGroup
	for c := range *clients {
		wg.Go(func() {
			for next.Add(1) <= int64(*requests) && time.Now().Before(deadline) {
				t0 := time.Now()
				resp, err := client.Post(*url+"/v1/predict", "application/json", strings.NewReader(string(body)))
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
					continue
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
	}
	out, _ := json.Marshal(map[string]any{"clients": *clients, "answered": len(all), "failed": failed.Load(), "seconds": took.Seconds(),
		"requests_per_s": float64(len(all)) / took.Seconds(), "p50_ms": pct(0.50), "p99_ms": pct(0.99)})
	fmt.Println(string(out))
}
