// Package proto is the generated Go code of task.proto, the protocol between
// seqkit and its task plugins.
package proto

// The generators, at the versions that wrote the committed code:
//   apt-get install protobuf-compiler   (protoc 3.21.12)
//   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative task.proto
