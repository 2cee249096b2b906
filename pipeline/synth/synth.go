// Package synth makes the synthetic datasets of a recipe's data.generate:
// the Taipei travel grammar (slot tagging), digit strings and their reverse
// (seq2seq), and forecasting windows cut from a series. Each split is text in
// one of the pipeline's formats, the same bytes for the same seed.
package synth

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

	"github.com/seqkit/seqkit/internal/quote"
)

// TaipeiCoNLL is n travel requests as CoNLL text (token, tab, tag; a blank
// line after each), drawn from stream of seed.
func TaipeiCoNLL(n int, seed, stream uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, stream))
	var b bytes.Buffer
	for range n {
		for _, tt := range Taipei(rng) {
			fmt.Fprintf(&b, "%s\t%s\n", tt[0], tt[1])
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ReverseTSV is n digit strings and their reverse as TSV lines, drawn from
// stream of seed.
func ReverseTSV(n int, seed, stream uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, stream))
	var b bytes.Buffer
	for range n {
		src, tgt := Reverse(rng)
		fmt.Fprintf(&b, "%s\t%s\n", src, tgt)
	}
	return b.Bytes()
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

// Windows cuts the series in column col of a CSV file with a header row
// (labelCol labels the points, 0 by their index) into forecasting examples,
// chronologically: the last testShare of the points are test targets, the
// last devShare of the rest dev targets, the others training targets. Each
// example is a JSON line: the target's label as text, and a vector of the
// context values before the target and then the horizon values to forecast.
// It returns the train, dev and test JSON Lines.
func Windows(path string, col, labelCol, context, horizon int, testShare, devShare float64) (splits [3][]byte, err error) {
	labels, values, err := readSeries(path, col, labelCol)
	if err != nil {
		return splits, err
	}
	n := len(values)
	if cells := float64(n) * float64(context+horizon); cells > maxWindowValues {
		// Every window repeats its context: the files grow as points × context.
		return splits, fmt.Errorf("%d points with windows of %d values would write %.3g numbers, more than %d: shorten the context, or the series", n, context+horizon, cells, maxWindowValues)
	}
	testStart := n - int(math.Round(testShare*float64(n)))
	devStart := testStart - int(math.Round(devShare*float64(testStart)))
	for i, s := range []struct {
		name     string
		from, to int // target start indices
	}{{"train", context, devStart}, {"dev", max(devStart, context), testStart}, {"test", max(testStart, context), n}} {
		var b bytes.Buffer
		rows := 0
		for t := s.from; t+horizon <= n && t < s.to; t++ {
			vec, _ := json.Marshal(values[t-context : t+horizon])
			lab, _ := json.Marshal(labels[t])
			fmt.Fprintf(&b, "{\"text\": %s, \"vector\": %s}\n", lab, vec)
			rows++
		}
		if rows == 0 {
			return splits, fmt.Errorf("%s has %d points: no %s window of context %d and horizon %d", path, n, s.name, context, horizon)
		}
		splits[i] = b.Bytes()
	}
	return splits, nil
}

// Bounds of the windows generator: the series file it reads whole, and the
// numbers the windows cut from it repeat.
const (
	maxSeriesBytes  = 256 << 20
	maxWindowValues = 100_000_000
)

// readSeries reads the labels and values of a CSV series with a header row;
// labelCol 0 labels the points by their index.
func readSeries(path string, col, labelCol int) ([]string, []float64, error) {
	// Stat before opening: opening a FIFO would block.
	if st, err := os.Stat(path); err == nil && (!st.Mode().IsRegular() || st.Size() > maxSeriesBytes) {
		return nil, nil, fmt.Errorf("%s: want a regular file of at most %d bytes (a series is read whole)", path, maxSeriesBytes)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	cr := csv.NewReader(io.LimitReader(f, maxSeriesBytes))
	cr.FieldsPerRecord = -1
	var labels []string
	var values []float64
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		if line == 1 {
			continue // the header
		}
		if col > len(rec) || labelCol > len(rec) {
			return nil, nil, fmt.Errorf("%s:%d: %d fields, no column %d", path, line, len(rec), max(col, labelCol))
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[col-1]), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, nil, fmt.Errorf("%s:%d: %s is not a number", path, line, quote.Q(rec[col-1]))
		}
		values = append(values, v)
		if labelCol > 0 {
			labels = append(labels, rec[labelCol-1])
		} else {
			labels = append(labels, strconv.Itoa(len(values)-1))
		}
	}
	return labels, values, nil
}
