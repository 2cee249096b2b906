package recipes

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/seqkit/seqkit/pipeline"
)

// Materialize writes the splits of a generated dataset into dir as CoNLL files
// (token, tab, tag) and points the recipe's data at them. A recipe without
// data.generate is left as it is.
func (r *Recipe) Materialize(dir string) error {
	g := r.Data.Generate
	if g == nil {
		return nil
	}
	if g.Name != "taipei" && g.Name != "reverse" {
		return fmt.Errorf("recipes: unknown generator %q", g.Name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, s := range []struct {
		name string
		n    int
		dst  *pipeline.Source
	}{{"train", g.Train, &r.Data.Train}, {"dev", g.Dev, &r.Data.Dev}, {"test", g.Test, &r.Data.Test}} {
		rng := rand.New(rand.NewPCG(g.Seed, uint64(i)))
		var b bytes.Buffer
		if g.Name == "reverse" {
			for range s.n {
				src, tgt := Reverse(rng)
				fmt.Fprintf(&b, "%s\t%s\n", src, tgt)
			}
			p := filepath.Join(dir, s.name+".tsv")
			if err := pipeline.WriteFileAtomic(p, b.Bytes()); err != nil {
				return err
			}
			*s.dst = pipeline.Source{Path: p, Format: pipeline.TSV, NoHeader: true, Columns: pipeline.Columns{Text: "1", Target: "2"}}
			continue
		}
		for range s.n {
			for _, tt := range Taipei(rng) {
				fmt.Fprintf(&b, "%s\t%s\n", tt[0], tt[1])
			}
			b.WriteByte('\n')
		}
		p := filepath.Join(dir, s.name+".conll")
		if err := pipeline.WriteFileAtomic(p, b.Bytes()); err != nil {
			return err
		}
		*s.dst = pipeline.Source{Path: p, Format: pipeline.CoNLL}
	}
	return nil
}

// The travel grammar's vocabulary. Cities span one to three words.
var (
	taipeiCities = []string{"taipei", "tokyo", "boston", "denver", "kaohsiung", "new york",
		"los angeles", "hong kong", "san francisco", "seoul", "singapore", "salt lake city", "dallas", "paris"}
	taipeiMonths = []string{"january", "february", "march", "april", "may", "june", "july",
		"august", "september", "october", "november", "december"}
	taipeiDays = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
)

// Taipei draws one travel request from a small grammar and returns its tokens
// with their slot tags (ATIS-style names, BIO scheme). A city is the origin after
// "leave", "depart" or "from", and the destination after "arrive", "to" or "get
// to", so the same word takes either tag depending on its context.
func Taipei(rng *rand.Rand) [][2]string {
	var out [][2]string
	words := func(tag string, s string) {
		for i, w := range strings.Fields(s) {
			t := "O"
			if tag != "" {
				t = "I-" + tag
				if i == 0 {
					t = "B-" + tag
				}
			}
			out = append(out, [2]string{w, t})
		}
	}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	city := func(role string) { words(role+".city_name", pick(taipeiCities)) }
	when := func(prefix string) {
		switch rng.IntN(4) {
		case 0, 1:
			words("", "on")
			words(prefix+"_date.month_name", pick(taipeiMonths))
			words(prefix+"_date.day_number", ordinal(1+rng.IntN(31)))
		case 2:
			words("", "on")
			words(prefix+"_date.day_name", pick(taipeiDays))
		default:
			words("", "at")
			words(prefix+"_time.time", fmt.Sprintf("%d %s", 1+rng.IntN(12), pick([]string{"am", "pm"})))
		}
	}
	lead := []string{"", "i want to", "please", "i would like to", "i need to", "can i"}
	words("", pick(lead))
	switch rng.IntN(7) {
	case 0: // arrive CITY WHEN
		words("", pick([]string{"arrive", "arrive in", "get to", "land in"}))
		city("toloc")
		when("arrive")
	case 1: // leave CITY WHEN
		words("", pick([]string{"leave", "leave from", "depart", "depart from", "fly out of"}))
		city("fromloc")
		when("depart")
	case 2: // fly from A to B WHEN
		words("", pick([]string{"fly", "travel", "go", "book a flight"}))
		words("", "from")
		city("fromloc")
		words("", "to")
		city("toloc")
		when("depart")
	case 3: // fly to B from A WHEN
		words("", pick([]string{"fly", "travel", "go"}))
		words("", "to")
		city("toloc")
		words("", "from")
		city("fromloc")
		when("depart")
	case 4: // leave A WHEN and arrive B WHEN
		words("", pick([]string{"leave", "depart"}))
		city("fromloc")
		when("depart")
		words("", "and")
		words("", pick([]string{"arrive in", "arrive", "get to"}))
		city("toloc")
		when("arrive")
	case 5: // fly to B WHEN
		words("", pick([]string{"fly to", "go to", "travel to"}))
		city("toloc")
		when("depart")
	default: // leave A for B
		words("", "leave")
		city("fromloc")
		words("", "for")
		city("toloc")
		when("depart")
	}
	return out
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprint(n) + suffix
}

// Reverse draws a sequence of 3 to 12 digits and returns it and its reverse,
// space-separated: the sanity task of sequence-to-sequence models, which an
// attention decoder learns to near-perfect exact match.
func Reverse(rng *rand.Rand) (src, tgt string) {
	n := 3 + rng.IntN(10)
	d := make([]string, n)
	for i := range d {
		d[i] = string(rune('0' + rng.IntN(10)))
	}
	src = strings.Join(d, " ")
	for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
		d[i], d[j] = d[j], d[i]
	}
	return src, strings.Join(d, " ")
}
