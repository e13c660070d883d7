// Package kinesislocal runs a local Kinesis Data Streams stand-in: kinesis-mock, from the npm
// package kinesis-local@0.6.2 (the engine LocalStack uses), under Node.js on a free port.
//
// The package is installed by `make tools` into $SLUICE_TOOLS (default <repo root>/.tools).
package kinesislocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/sluicelake/sluice/shared/envvar"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/sluicelake/sluice/localstack/procgroup"
)

const (
	// Package is the pinned npm package.
	Package = "kinesis-local@0.6.2"
	// Region and AccountID are kinesis-mock's defaults, used in its stream ARNs.
	Region    = "us-east-1"
	AccountID = "000000000000"

	defaultReadyTimeout = 60 * time.Second
	startAttempts       = 3
)

// FastEnv makes kinesis-mock quick and quiet for tests and local runs. Every stream operation
// that AWS makes asynchronous (CREATING, DELETING, UPDATING...) waits 500ms by default in
// kinesis-mock; here the waits are 0. LOG_LEVEL=ERROR silences its per-request logging (INFO
// logs every call; WARN logs every rejected request). Data is kept in memory only.
var FastEnv = []string{
	"CREATE_STREAM_DURATION=0ms",
	"DELETE_STREAM_DURATION=0ms",
	"REGISTER_STREAM_CONSUMER_DURATION=0ms",
	"DEREGISTER_STREAM_CONSUMER_DURATION=0ms",
	"START_STREAM_ENCRYPTION_DURATION=0ms",
	"STOP_STREAM_ENCRYPTION_DURATION=0ms",
	"MERGE_SHARDS_DURATION=0ms",
	"SPLIT_SHARD_DURATION=0ms",
	"UPDATE_SHARD_COUNT_DURATION=0ms",
	"UPDATE_STREAM_MODE_DURATION=0ms",
	"LOG_LEVEL=ERROR",
	"ROOT_LOG_LEVEL=ERROR",
	"SHOULD_PERSIST_DATA=false",
}

// Options configures Start. The zero value is ready to use.
type Options struct {
	// ToolsDir is where `make tools` installed the npm packages; empty means $SLUICE_TOOLS, then
	// the .tools folder at the root of the enclosing Go module.
	ToolsDir string
	// Env is added after FastEnv, so it can override any of it (e.g. LOG_LEVEL=INFO,
	// INITIALIZE_STREAMS=name:shards, SHARD_LIMIT).
	Env []string
	// Stdout and Stderr receive the server's output; nil discards it.
	Stdout, Stderr io.Writer
	// ReadyTimeout bounds the wait for the first answered ListStreams; zero means 60 s.
	ReadyTimeout time.Duration
}

// Server is a running kinesis-mock.
type Server struct {
	// Endpoint is the plain-HTTP endpoint, e.g. http://127.0.0.1:40123: give it to the SDK
	// as BaseEndpoint or to a function as AWS_ENDPOINT_URL_KINESIS.
	Endpoint string
	// TLSEndpoint serves the same API over TLS with the package's self-signed certificate.
	TLSEndpoint string
	// StartupTime is how long it took from process start until ListStreams answered.
	StartupTime time.Duration
	// PID is the server's process id (for measuring its memory, for instance).
	PID int

	cmd       *exec.Cmd
	exited    chan struct{}
	exitErr   error
	closeOnce sync.Once
}

// PackageDir finds the installed kinesis-local package, or says how to install it.
func PackageDir(toolsDir string) (string, error) {
	if toolsDir == "" {
		toolsDir = os.Getenv(envvar.Tools)
	}
	if toolsDir == "" {
		root, err := moduleRoot()
		if err != nil {
			return "", fmt.Errorf("kinesislocal: cannot find the tools folder (%v): set SLUICE_TOOLS or run `make tools` in the repository", err)
		}
		toolsDir = filepath.Join(root, ".tools")
	}
	dir := filepath.Join(toolsDir, "node_modules", "kinesis-local")
	for _, f := range []string{"main.js", "server.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return "", fmt.Errorf("kinesislocal: %s is not installed in %s (%v): run `make tools` (it installs %s)", Package, toolsDir, err, Package)
		}
	}
	return dir, nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Start runs kinesis-mock on free ports and waits until it answers ListStreams. ctx bounds the
// start only: the server runs until Close.
func Start(ctx context.Context, opts Options) (*Server, error) {
	pkg, err := PackageDir(opts.ToolsDir)
	if err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("kinesislocal: %s needs Node.js (20 or newer) on PATH: %w", Package, err)
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = defaultReadyTimeout
	}
	// Free ports are found by binding and releasing them; another process can take one in
	// between, and then the server exits at once: try again with new ports.
	var lastErr error
	for range startAttempts {
		s, err := start(ctx, node, pkg, opts)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if ctx.Err() != nil || !errors.Is(err, errExitedEarly) {
			break
		}
	}
	return nil, lastErr
}

var errExitedEarly = errors.New("kinesis-mock exited before it was ready")

func start(ctx context.Context, node, pkg string, opts Options) (*Server, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, fmt.Errorf("kinesislocal: finding free ports: %w", err)
	}
	plain, tls := ports[0], ports[1]

	cmd := exec.Command(node, filepath.Join(pkg, "main.js"))
	cmd.Dir = pkg
	env := append(os.Environ(),
		"KINESIS_MOCK_CERT_PATH="+filepath.Join(pkg, "server.json"),
		"KINESIS_MOCK_PLAIN_PORT="+strconv.Itoa(plain),
		"KINESIS_MOCK_TLS_PORT="+strconv.Itoa(tls),
		"AWS_ACCOUNT_ID="+AccountID,
		"AWS_REGION="+Region,
	)
	env = append(env, FastEnv...)
	cmd.Env = append(env, opts.Env...)
	// Keep the last output for the error message if it dies, and pass it on.
	tail := &tailBuffer{max: 4096}
	cmd.Stdout = multi(tail, opts.Stdout)
	cmd.Stderr = multi(tail, opts.Stderr)
	cmd.WaitDelay = time.Second
	procgroup.Set(cmd)

	began := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("kinesislocal: starting node: %w", err)
	}
	s := &Server{
		Endpoint:    "http://127.0.0.1:" + strconv.Itoa(plain),
		TLSEndpoint: "https://127.0.0.1:" + strconv.Itoa(tls),
		PID:         cmd.Process.Pid,
		cmd:         cmd,
		exited:      make(chan struct{}),
	}
	go func() {
		s.exitErr = cmd.Wait()
		close(s.exited)
	}()
	// One attempt per probe: the SDK's retry backoff would only delay noticing readiness.
	client := s.Client(func(o *kinesis.Options) { o.RetryMaxAttempts = 1 })
	deadline := time.Now().Add(opts.ReadyTimeout)
	for {
		probe, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := client.ListStreams(probe, &kinesis.ListStreamsInput{})
		cancel()
		if err == nil {
			s.StartupTime = time.Since(began)
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("kinesislocal: %w (%v); its last output:\n%s", errExitedEarly, s.exitErr, tail.String())
		case <-ctx.Done():
			s.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Close()
			return nil, fmt.Errorf("kinesislocal: kinesis-mock did not answer ListStreams within %s (last error: %v); its last output:\n%s", opts.ReadyTimeout, err, tail.String())
		}
	}
}

// Client returns a Kinesis client for this server, with the static credentials kinesis-mock
// accepts (any credentials work; the access key "test" maps to account 000000000000).
func (s *Server) Client(optFns ...func(*kinesis.Options)) *kinesis.Client {
	return NewClient(s.Endpoint, optFns...)
}

// NewClient returns a Kinesis client for a local endpoint. It does not read the shared AWS
// configuration, so the developer's profile and AWS_CA_BUNDLE do not get in the way.
func NewClient(endpoint string, optFns ...func(*kinesis.Options)) *kinesis.Client {
	opts := kinesis.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   awshttp.NewBuildableClient(),
	}
	return kinesis.New(opts, optFns...)
}

// Close kills the server's whole process group and waits for it to exit.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		procgroup.Kill(s.cmd)
		<-s.exited
	})
	return nil
}

// CreateStream creates a provisioned stream with the given number of shards and waits until it
// is ACTIVE. A stream that already exists with that name is waited for, not recreated.
func CreateStream(ctx context.Context, client *kinesis.Client, name string, shards int) error {
	_, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{
		StreamName:        aws.String(name),
		ShardCount:        aws.Int32(int32(shards)),
		StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeProvisioned},
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("kinesislocal: creating stream %s: %w", name, err)
	}
	for {
		out, err := client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err != nil {
			return fmt.Errorf("kinesislocal: waiting for stream %s: %w", name, err)
		}
		if out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kinesislocal: stream %s not ACTIVE (%s): %w", name, out.StreamDescriptionSummary.StreamStatus, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// freePorts finds ports free on every interface: kinesis-mock binds all interfaces, so a port
// merely free on 127.0.0.1 could still clash.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", ":0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func multi(tail io.Writer, w io.Writer) io.Writer {
	if w == nil {
		return tail
	}
	return io.MultiWriter(tail, w)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
