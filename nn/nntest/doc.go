// Package nntest checks layers of package nn: gradients against central finite
// differences, and one conformance suite that every recurrent cell configuration
// runs (shapes, padding, gradients, float32/float64 agreement, unused weights).
package nntest
