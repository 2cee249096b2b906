package plugins

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/plugins/proto"

	"github.com/seqkit/seqkit/internal/quote"
)

// BinaryPrefix starts the file name of every plugin binary: seqkit-plugin-NAME
// provides the task NAME.
const BinaryPrefix = "seqkit-plugin-"

// PathEnv lists more folders to look for plugins in, separated like PATH.
const PathEnv = "SEQKIT_PLUGIN_PATH"

// DefaultDir is the last folder searched, relative to the working directory.
const DefaultDir = "plugins/bin"

// Host starts plugins and keeps track of them, so that every one is stopped when
// the host is done (Close), whatever happened.
type Host struct {
	// Dirs are searched in order for plugin binaries: --plugin-dir, then
	// $SEQKIT_PLUGIN_PATH, then ./plugins/bin (see SearchDirs).
	Dirs []string
	// Log receives the plugins' standard error, each line prefixed with the
	// plugin's name; nil discards it.
	Log io.Writer
	// CallTimeout bounds every call to a plugin (a training step, a whole
	// evaluation); a plugin that takes longer is stopped. Zero means 10 minutes.
	CallTimeout time.Duration
	// StartTimeout bounds the handshake. Zero means 20 seconds.
	StartTimeout time.Duration

	mu      sync.Mutex
	running []*Plugin
}

// SearchDirs returns the plugin folders in the order they are searched: dir
// (from --plugin-dir) when set, the entries of $SEQKIT_PLUGIN_PATH, then
// ./plugins/bin.
func SearchDirs(dir string) []string {
	var dirs []string
	if dir != "" {
		dirs = append(dirs, dir)
	}
	for _, d := range filepath.SplitList(os.Getenv(PathEnv)) {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	return append(dirs, DefaultDir)
}

// MaxAnswerBytes bounds one message a plugin sends the host.
const MaxAnswerBytes = 64 << 20

// checkName refuses a plugin name that is a path: a plugin is found by name
// in the search folders only, never run from elsewhere.
func checkName(name string) error {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." || strings.ContainsFunc(name, unicode.IsControl) {
		return fmt.Errorf("%s is not a plugin name: a name, such as forecast, not a path (its binary is %sNAME in a plugin folder)", quote.Q(name), BinaryPrefix)
	}
	return nil
}

// parsePin decodes a sha256 pin, hex with an optional "sha256:" prefix.
func parsePin(pin string) ([]byte, error) {
	sum, err := hex.DecodeString(strings.TrimPrefix(strings.ToLower(pin), "sha256:"))
	if err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("the pinned sha256 %s is not 64 hexadecimal digits", quote.Q(pin))
	}
	return sum, nil
}

// Find returns the path of the binary of plugin name: the first
// seqkit-plugin-NAME in the search folders.
func (h *Host) Find(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", fmt.Errorf("plugins: %w", err)
	}
	for _, d := range h.Dirs {
		p := filepath.Join(d, BinaryPrefix+name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("plugins: no plugin %q: no %s%s in %s; build it into one of them, or point --plugin-dir (or $%s) at its folder", name, BinaryPrefix, name, strings.Join(h.Dirs, ", "), PathEnv)
}

// Discover lists the plugin binaries of the search folders, the first of each
// name winning.
func (h *Host) Discover() (map[string]string, error) {
	found := map[string]string{}
	for _, d := range h.Dirs {
		entries, err := os.ReadDir(d)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			name, ok := strings.CutPrefix(e.Name(), BinaryPrefix)
			if !ok || name == "" || e.IsDir() {
				continue
			}
			if _, seen := found[name]; !seen {
				found[name] = filepath.Join(d, e.Name())
			}
		}
	}
	return found, nil
}

// FileSHA256 returns the hex SHA-256 of a file.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Plugin is a running plugin process.
type Plugin struct {
	Name, Path string
	SHA256     string
	Protocol   int // the protocol version agreed at the handshake
	Desc       *proto.Description
	task       proto.TaskClient
	client     *plugin.Client
	stderr     *tail
	timeout    time.Duration
}

// LockFile, in a plugin folder, pins the plugins of that folder: one line
// "NAME SHA256" per plugin (seqkit plugins lock writes it). A recipe's own pin
// takes precedence.
const LockFile = "seqkit-plugins.lock"

// Launch starts plugin name, checking its binary against the pinned sha256 (hex)
// first when one is given, else against its folder's lock file when that lists
// it, completes the handshake and asks for its description. On any failure the
// process is stopped and the error carries the plugin's last lines of standard
// error.
func (h *Host) Launch(name, pin string) (*Plugin, error) {
	path, err := h.Find(name)
	if err != nil {
		return nil, err
	}
	if pin == "" {
		locks, err := ReadLock(filepath.Dir(path))
		if err != nil {
			return nil, err
		}
		pin = locks[name]
	}
	return h.LaunchPath(name, path, pin)
}

// ReadLock reads the lock file of a plugin folder: plugin name → sha256. A
// folder without one has no pins.
func ReadLock(dir string) (map[string]string, error) {
	b, err := pipeline.ReadFileLimited(filepath.Join(dir, LockFile), 1<<20)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	pins := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("plugins: %s:%d: want \"NAME SHA256\", got %s", filepath.Join(dir, LockFile), i+1, quote.Q(line))
		}
		if sum, err := hex.DecodeString(f[1]); err != nil || len(sum) != sha256.Size {
			return nil, fmt.Errorf("plugins: %s:%d: %s is not a sha256 (64 hex digits); run seqkit plugins lock again", filepath.Join(dir, LockFile), i+1, quote.Q(f[1]))
		}
		pins[f[0]] = strings.ToLower(f[1])
	}
	return pins, nil
}

// WriteLock pins every plugin of a folder at its current sha256 and returns the
// pins.
func WriteLock(dir string) (map[string]string, error) {
	h := &Host{Dirs: []string{dir}}
	found, err := h.Discover()
	if err != nil {
		return nil, err
	}
	pins := map[string]string{}
	var b strings.Builder
	b.WriteString("# seqkit plugins lock: each plugin's sha256, checked before every start\n")
	for _, name := range sortedKeys(found) {
		sum, err := FileSHA256(found[name])
		if err != nil {
			return nil, err
		}
		pins[name] = sum
		fmt.Fprintf(&b, "%s %s\n", name, sum)
	}
	return pins, pipeline.WriteFileAtomic(filepath.Join(dir, LockFile), []byte(b.String()))
}

// LaunchPath is Launch for a binary found elsewhere.
func (h *Host) LaunchPath(name, path, pin string) (*Plugin, error) {
	p := &Plugin{Name: name, Path: path, stderr: newTail(20, h.Log, name), timeout: cmpOr(h.CallTimeout, 10*time.Minute)}
	var secure *plugin.SecureConfig
	if pin != "" {
		sum, err := parsePin(pin)
		if err != nil {
			return nil, fmt.Errorf("plugins: %s: %w", name, err)
		}
		secure = &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
		// go-plugin checks it too, just before starting; this check gives the
		// better message.
		got, err := FileSHA256(path)
		if err != nil {
			return nil, fmt.Errorf("plugins: %s: %w", name, err)
		}
		if !strings.EqualFold(got, hex.EncodeToString(sum)) {
			return nil, fmt.Errorf("plugins: %s: %s has sha256 %s, but the recipe or %s pins %s: the binary changed; refusing to run it (rebuild the pinned version, or update the pin if the change is yours)", name, path, got, LockFile, hex.EncodeToString(sum))
		}
	}
	var logBuf bytes.Buffer
	cmd := exec.Command(path)
	// The plugin exits once this process is gone (exitWithParent).
	cmd.Env = []string{fmt.Sprintf("%s=%d", hostPIDEnv, os.Getpid())}
	p.client = plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: versionedPlugins(nil),
		Cmd:              cmd,
		SecureConfig:     secure,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     cmpOr(h.StartTimeout, 20*time.Second),
		Stderr:           p.stderr,
		SyncStdout:       p.stderr,
		SyncStderr:       p.stderr,
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "plugin." + name, Level: hclog.Error, Output: &logBuf}),
		// go-plugin lets a plugin's answer be 2 GiB; one of seqkit's answers a
		// batch of at most a record batch's rows.
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxAnswerBytes))},
	})
	h.mu.Lock()
	h.running = append(h.running, p)
	h.mu.Unlock()
	fail := func(err error) (*Plugin, error) {
		h.stop(p)
		return nil, p.explain(fmt.Errorf("plugins: %s: %w", name, err))
	}
	rpc, err := p.client.Client()
	if err != nil {
		return fail(fmt.Errorf("starting %s: %w", path, err))
	}
	raw, err := rpc.Dispense(pluginName)
	if err != nil {
		return fail(err)
	}
	p.task = raw.(proto.TaskClient)
	p.Protocol = p.client.NegotiatedVersion()
	ctx, cancel := p.ctx()
	defer cancel()
	if p.Desc, err = p.task.Describe(ctx, &proto.DescribeRequest{}); err != nil {
		return fail(fmt.Errorf("describe: %w", err))
	}
	if p.Desc.Name != name {
		return fail(fmt.Errorf("the binary provides the task %q, not %q", p.Desc.Name, name))
	}
	p.SHA256, _ = FileSHA256(path)
	return p, nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// ctx is the context of one call: the per-call deadline.
func (p *Plugin) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), p.timeout)
}

// explain adds to a failed call what the user needs: whether the plugin
// crashed or timed out, and its last lines of standard error.
func (p *Plugin) explain(err error) error {
	if err == nil {
		return nil
	}
	var b strings.Builder
	b.WriteString(err.Error())
	switch status.Code(errors.Unwrap(err)) {
	case codes.Unavailable, codes.Canceled, codes.Internal:
		// The connection broke: give the process a moment to be seen exiting
		// and its last words to arrive.
		for i := 0; i < 50 && p.client != nil && !p.client.Exited(); i++ {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
	case codes.DeadlineExceeded:
		fmt.Fprintf(&b, " (no answer within the call deadline of %v; the plugin was stopped)", p.timeout)
	}
	if p.client != nil && p.client.Exited() {
		b.WriteString("; the plugin process exited")
	}
	if lines := p.stderr.Lines(); len(lines) > 0 {
		b.WriteString("\nlast lines of the plugin's standard error:\n  ")
		b.WriteString(strings.Join(lines, "\n  "))
	}
	return errors.New(b.String())
}

// stop kills the plugin's process and forgets it.
func (h *Host) stop(p *Plugin) {
	p.client.Kill()
	h.mu.Lock()
	h.running = slices.DeleteFunc(h.running, func(q *Plugin) bool { return q == p })
	h.mu.Unlock()
}

// Stop stops one plugin.
func (h *Host) Stop(p *Plugin) { h.stop(p) }

// Close stops every plugin still running. Call it on every way out, Ctrl-C
// included.
func (h *Host) Close() {
	h.mu.Lock()
	running := h.running
	h.running = nil
	h.mu.Unlock()
	for _, p := range running {
		p.client.Kill()
	}
}

// tail keeps the last lines written to it and passes every line on to log,
// prefixed with the plugin's name.
type tail struct {
	mu    sync.Mutex
	max   int
	lines []string
	part  []byte
	log   io.Writer
	name  string
}

func newTail(n int, log io.Writer, name string) *tail {
	return &tail{max: n, log: log, name: name}
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.part = append(t.part, b...)
	for {
		i := bytes.IndexByte(t.part, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(t.part[:i]), "\r")
		t.part = t.part[i+1:]
		t.lines = append(t.lines, line)
		if len(t.lines) > t.max {
			t.lines = t.lines[1:]
		}
		if t.log != nil {
			fmt.Fprintf(t.log, "[%s] %s\n", t.name, line)
		}
	}
	return len(b), nil
}

// Lines returns the last lines, the unfinished one included.
func (t *tail) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := slices.Clone(t.lines)
	if len(t.part) > 0 {
		out = append(out, string(t.part))
	}
	return out
}
