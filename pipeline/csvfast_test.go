package pipeline

import (
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var csvInputs = []string{
	"a,b\n1,2\n",
	"a,b\r\n1,2\r\n\r\n3,4",
	"text,label\n\"fly, to Boston\",flight\n\"say \"\"hi\"\"\",x\n",
	"a,b\n\"multi\nline\",2\nplain,3\n",
	"a,b\n1,\"x\"y\n2,3\n",
	"a,b\n1,b\"c\nd,e\n",
	"a,b\n\n\n1,2\n  ,\n",
	"a,b\n\"never closed,2\n3,4\n",
	"a\n\"\"\n\"\"\"\"\n",
	"h1,h2,h3\n1,2\n,,\n",
	"x\r\ny\rz\n",
}

// TestCSVAgainstEncodingCSV: the lines split at commas and the records
// handed to encoding/csv give the rows, lines and errors that encoding/csv
// reading the whole file gives.
func TestCSVAgainstEncodingCSV(t *testing.T) {
	for _, in := range csvInputs {
		checkCSV(t, in)
	}
}

func FuzzCSVAgainstEncodingCSV(f *testing.F) {
	for _, in := range csvInputs {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) { checkCSV(t, in) })
}

type csvRow struct {
	Fields []string
	Line   int
	Err    string
}

func checkCSV(t *testing.T, in string) {
	t.Helper()
	if strings.HasPrefix(in, "\ufeff") || strings.Contains(in, "\x00") {
		return // the byte-order mark is dropped before either reader sees it
	}
	p := filepath.Join(t.TempDir(), "x.csv")
	if err := os.WriteFile(p, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := openLines(p, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	// n set as after a header: rows without quotes come as bytes (raw and
	// spans), the others as encoding/csv's strings.
	s := &csvSource{path: p, l: l, max: 1 << 20, n: 1}
	s.feed = &lineFeed{l: l, max: s.max}
	s.r = csv.NewReader(s.feed)
	s.r.FieldsPerRecord = -1
	var got, want []csvRow
	for len(got) < 100 {
		s.raw = nil
		rec, line, err := s.readRow()
		if err == nil && rec == nil {
			for k := 0; k < len(s.spans); k += 2 {
				rec = append(rec, string(s.raw[s.spans[k]:s.spans[k+1]]))
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			got = append(got, csvRow{Err: err.Error()})
			break
		}
		got = append(got, csvRow{Fields: append([]string(nil), rec...), Line: line})
	}
	r := csv.NewReader(strings.NewReader(in))
	r.FieldsPerRecord = -1
	for len(want) < 100 {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			want = append(want, csvRow{Err: csvError(p, err).Error()})
			break
		}
		line, _ := r.FieldPos(0)
		want = append(want, csvRow{Fields: rec, Line: line})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%q:\ngot  %+v\nwant %+v", in, got, want)
	}
}
