package plugins

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/seqkit/seqkit/plugins/proto"
	"github.com/seqkit/seqkit/tasks"
)

// ProtocolVersion is the version of task.proto this seqkit speaks. A plugin
// built for another version is refused at the handshake with a clear message.
const ProtocolVersion = 1

// Handshake is what seqkit and a plugin check before anything else: a plugin
// binary started by hand, not by seqkit, says so and exits.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "SEQKIT_PLUGIN",
	MagicCookieValue: "d3b07384-seqkit-task-plugin",
}

// pluginName is the one plugin a binary serves, under go-plugin's dispensing.
const pluginName = "task"

// versionedPlugins is the plugin set of each protocol version. The host side
// passes a nil type.
func versionedPlugins(typ *tasks.Type) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{ProtocolVersion: {pluginName: &grpcPlugin{typ: typ}}}
}

// grpcPlugin connects go-plugin to the Task service, both ways.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	typ *tasks.Type // the served task type (plugin side)
}

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	proto.RegisterTaskServer(s, &server{typ: p.typ})
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return proto.NewTaskClient(c), nil
}

// Serve serves the task type typ to seqkit over go-plugin and returns when the
// host is done with it. Plugin binaries call it through package sdk.
func Serve(typ tasks.Type) {
	parent := os.Getppid()
	if pid, err := strconv.Atoi(os.Getenv(hostPIDEnv)); err == nil {
		// The host may be gone before this line runs: its own id, not the
		// parent found now, is what to compare with.
		parent = pid
	}
	go exitWithParent(parent, time.Second)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: versionedPlugins(&typ),
		// The tables of Init may exceed gRPC's 4 MiB default; the host
		// bounds them (MaxTablesBytes).
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return plugin.DefaultGRPCServer(append(opts, grpc.MaxRecvMsgSize(MaxTablesBytes+64<<20)))
		},
		Logger: hclog.New(&hclog.LoggerOptions{Name: typ.Name, Level: hclog.Error, Output: os.Stderr}),
	})
}

// hostPIDEnv names the host's process id in a plugin's environment.
const hostPIDEnv = "SEQKIT_PLUGIN_HOST_PID"

// exitWithParent ends the plugin once the process that started it is gone
// (killed, or dead of a crash before it could stop the plugin): the plugin
// is then re-parented, and its parent id changes. Without it, a plugin
// outlives a host killed with SIGKILL, waiting for calls that never come.
func exitWithParent(parent int, every time.Duration) {
	for range time.Tick(every) {
		if os.Getppid() != parent {
			fmt.Fprintln(os.Stderr, "seqkit, which started this plugin, is gone: exiting")
			os.Exit(1)
		}
	}
}
