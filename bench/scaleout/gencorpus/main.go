// Command gencorpus writes the scale-out benchmark's corpus: Taipei travel
// requests (pipeline/synth) as JSON Lines shards, gzip-compressed, and as
// CoNLL shards, each format about -mb megabytes of text over -shards files.
// The same flags write the same bytes.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/gzip"

	"github.com/seqkit/seqkit/pipeline/synth"
)

func main() {
	out := flag.String("o", "corpus", "output folder (jsonl/ and conll/ are written in it)")
	mb := flag.Int("mb", 2048, "megabytes of text per format")
	shards := flag.Int("shards", 16, "shards per format")
	flag.Parse()
	if *shards < 1 || *mb < 1 || *mb > 1<<20 || *shards > 1<<16 {
		log.Fatal("gencorpus: -mb must be in [1, 2^20] and -shards in [1, 65536]")
	}
	per := int64(*mb) << 20 / int64(*shards)
	for _, format := range []string{"jsonl", "conll"} {
		dir := filepath.Join(*out, format)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			log.Fatal(err)
		}
		for s := range *shards {
			if err := shard(dir, format, s, per); err != nil {
				log.Fatal(err)
			}
		}
	}
}

// counter counts the text bytes written.
type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// shard writes shard s of format: size bytes of text, sentences drawn from a
// generator seeded by the shard.
func shard(dir, format string, s int, size int64) error {
	name := filepath.Join(dir, fmt.Sprintf("part-%05d.conll", s))
	if format == "jsonl" {
		name = filepath.Join(dir, fmt.Sprintf("part-%05d.jsonl.gz", s))
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	defer f.Close()
	var w io.Writer = f
	var z *gzip.Writer
	if format == "jsonl" {
		z, _ = gzip.NewWriterLevel(f, gzip.BestSpeed)
		w = z
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	c := &counter{w: bw}
	rng := rand.New(rand.NewPCG(uint64(s), 42))
	type row struct {
		Tokens []string `json:"tokens"`
		Tags   []string `json:"tags"`
	}
	enc := json.NewEncoder(c)
	for c.n < size {
		var r row
		for _, tt := range synth.Taipei(rng) {
			r.Tokens, r.Tags = append(r.Tokens, tt[0]), append(r.Tags, tt[1])
		}
		if format == "jsonl" {
			if err := enc.Encode(r); err != nil {
				return err
			}
			continue
		}
		for i := range r.Tokens {
			fmt.Fprintf(c, "%s\t%s\n", r.Tokens[i], r.Tags[i])
		}
		fmt.Fprintln(c)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if z != nil {
		if err := z.Close(); err != nil {
			return err
		}
	}
	return f.Close()
}
