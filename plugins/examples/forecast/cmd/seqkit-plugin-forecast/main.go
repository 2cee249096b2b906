// Command seqkit-plugin-forecast serves the forecast task to seqkit. Build it
// into a plugin folder:
//
//	go build -o plugins/bin/seqkit-plugin-forecast ./plugins/examples/forecast/cmd/seqkit-plugin-forecast
package main

import (
	"github.com/seqkit/seqkit/plugins/examples/forecast"
	"github.com/seqkit/seqkit/plugins/sdk"
)

func main() { sdk.Serve(forecast.Type()) }
