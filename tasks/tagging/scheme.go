package tagging

import (
	"fmt"
	"strings"

	"github.com/seqkit/seqkit/nn"

	"github.com/seqkit/seqkit/internal/quote"
)

// Scheme is a tag scheme: how chunk boundaries are written.
type Scheme string

// The tag schemes.
const (
	IOB1  Scheme = "iob1"  // I- inside chunks; B- only to split two chunks of one type
	BIO   Scheme = "bio"   // IOB2: every chunk starts with B-
	BIOES Scheme = "bioes" // B-, I-, E- (end), S- (single-token chunk)
)

// Head is the tagger's output layer.
type Head string

// The output layers.
const (
	Softmax Head = "softmax" // a softmax per token
	CRF     Head = "crf"     // a linear-chain CRF
)

// Convert rewrites a tag sequence into another scheme, chunk by chunk (read as
// conlleval reads them), so Convert(Convert(x, BIOES), BIO) of BIO input is x.
func Convert(tags []string, to Scheme) ([]string, error) {
	out := make([]string, len(tags))
	for i := range out {
		out[i] = "O"
	}
	spans := Spans(tags)
	for k, s := range spans {
		for i := s.Start; i < s.End; i++ {
			var p string
			switch to {
			case BIO:
				p = "I"
				if i == s.Start {
					p = "B"
				}
			case IOB1:
				p = "I"
				// B- only where the previous token ends a chunk of the same type.
				if i == s.Start && k > 0 && spans[k-1].End == s.Start && spans[k-1].Type == s.Type {
					p = "B"
				}
			case BIOES:
				switch {
				case s.End-s.Start == 1:
					p = "S"
				case i == s.Start:
					p = "B"
				case i == s.End-1:
					p = "E"
				default:
					p = "I"
				}
			default:
				return nil, fmt.Errorf("tagging: unknown tag scheme %q (iob1, bio, bioes)", to)
			}
			out[i] = p + "-" + s.Type
		}
	}
	return out, nil
}

// checkTags refuses a tag the scheme cannot write, such as X-VP in BIO: the
// constrained decoder could never emit it, and the chunk scores would read
// it as something else. Only O and the scheme's prefixes, a hyphen and a
// type, are tags of a scheme.
func checkTags(scheme Scheme, tags []string) error {
	prefixes := map[Scheme]string{IOB1: "IB", BIO: "IB", BIOES: "IBES"}[scheme]
	for _, tag := range tags {
		if tag == "O" {
			continue
		}
		p, typ, ok := strings.Cut(tag, "-")
		if !ok || len(p) != 1 || !strings.Contains(prefixes, p) || typ == "" {
			want := "O, B-TYPE or I-TYPE"
			if scheme == BIOES {
				want = "O, B-TYPE, I-TYPE, E-TYPE or S-TYPE"
			}
			return fmt.Errorf("tagging: tag %s of the training data is not a %s tag (%s): fix the data, or set task.scheme to the scheme it is written in", quote.Q(tag), scheme, want)
		}
	}
	return nil
}

// constraints lists the transitions a scheme allows between the tags of a
// vocabulary, for constrained CRF decoding: in BIO an I-x follows only B-x or
// I-x; in BIOES chunks open with B- or S- and close with E- or S-. IOB1 allows
// everything.
func constraints(scheme Scheme, tags []string) nn.Allowed {
	C := len(tags)
	if scheme == IOB1 {
		return nn.Allowed{}
	}
	a := nn.Allowed{Trans: make([]bool, C*C), StartOK: make([]bool, C), EndOK: make([]bool, C)}
	type pt struct{ p, t string }
	parts := make([]pt, C)
	for i, tag := range tags {
		p, t := splitTag(tag)
		parts[i] = pt{p, t}
	}
	// open: the tag may start a chunk (or be O); inside: it continues one.
	opens := func(p string) bool { return p == "O" || p == "B" || p == "S" }
	closes := func(p string) bool {
		return p == "O" || p == "E" || p == "S" || (scheme == BIO && (p == "B" || p == "I"))
	}
	for j := range C {
		pj := parts[j].p
		a.StartOK[j] = opens(pj)
		a.EndOK[j] = scheme == BIO || closes(pj)
		for i := range C {
			pi := parts[i].p
			var ok bool
			switch {
			case opens(pj):
				ok = closes(pi)
			default: // I- or E-: continue a chunk of the same type
				ok = (pi == "B" || pi == "I") && parts[i].t == parts[j].t
			}
			a.Trans[i*C+j] = ok
		}
	}
	return a
}
