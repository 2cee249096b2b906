// Command seqkit-plugin-gcn serves the gcn task to seqkit. Build it into a
// plugin folder:
//
//	go build -o plugins/bin/seqkit-plugin-gcn ./plugins/examples/gcn/cmd/seqkit-plugin-gcn
package main

import (
	"github.com/seqkit/seqkit/plugins/examples/gcn"
	"github.com/seqkit/seqkit/plugins/sdk"
)

func main() { sdk.Serve(gcn.Type()) }
