// Package s3local runs an S3 server in this process over a plain directory, for the local
// host and for integration tests: versitygw (github.com/versity/versitygw) with its posix
// backend, listening on 127.0.0.1.
//
// Objects are ordinary files: bucket b, key k is the file <Dir>/b/k (the current version;
// buckets with versioning enabled keep older ones under <Dir>.versions), so what the lake
// writes can be inspected (or read by DuckDB) with no S3 client at all. Metadata and ETags
// live in extended attributes of those files.
//
// Two process-wide constraints come from versitygw and are enforced here:
//   - one server per process: Start fails while another is running;
//   - the posix backend resolves paths relative to the working directory and changes it to
//     Dir; Close changes it back. While a server runs, use absolute paths elsewhere in the
//     process and do not call os.Chdir.
package s3local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/versity/versitygw/auth"
	"github.com/versity/versitygw/backend"
	"github.com/versity/versitygw/backend/meta"
	"github.com/versity/versitygw/backend/posix"
	"github.com/versity/versitygw/embedgw"
	"github.com/versity/versitygw/s3err"
	"github.com/versity/versitygw/s3response"
)

// Credentials and region the server accepts; clients sign requests with these.
const (
	DefaultAccessKey = "sluice-local"
	DefaultSecretKey = "sluice-local-secret"
	DefaultRegion    = "us-east-1"
)

// Server is a running S3 endpoint over Dir.
type Server struct {
	// Dir holds one directory per bucket and one file per object.
	Dir       string
	AccessKey string
	SecretKey string
	Region    string

	addr   string
	cancel context.CancelFunc
	done   chan error
	prevWD string

	closeOnce sync.Once
	closeErr  error
}

var (
	runningMu sync.Mutex
	running   bool
)

// Start serves dir (created if missing) over S3 on a free 127.0.0.1 port and returns once
// the server accepts connections. The server stops when ctx is done or Close is called;
// call Close in either case to wait for it and restore the working directory.
func Start(ctx context.Context, dir string) (*Server, error) {
	runningMu.Lock()
	if running {
		runningMu.Unlock()
		return nil, errors.New("s3local: a server is already running in this process (versitygw supports one); share it, or Close it before starting another")
	}
	running = true
	runningMu.Unlock()

	s, err := start(ctx, dir)
	if err != nil {
		runningMu.Lock()
		running = false
		runningMu.Unlock()
		return nil, err
	}
	return s, nil
}

func start(ctx context.Context, dir string) (*Server, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("s3local: resolve %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("s3local: create the data directory: %w", err)
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("s3local: read the working directory (restored on Close): %w", err)
	}

	// A port can be taken between choosing and binding it; try a few.
	var lastErr error
	for range 5 {
		s, err := startOnce(ctx, abs, wd)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func startOnce(ctx context.Context, abs, wd string) (*Server, error) {
	ms, err := metadataStore(abs)
	if err != nil {
		return nil, err
	}
	versions := abs + ".versions"
	if err := os.MkdirAll(versions, 0o755); err != nil {
		return nil, fmt.Errorf("s3local: create the directory of old object versions %s: %w", versions, err)
	}
	be, err := quietly(func() (*posix.Posix, error) {
		return posix.New(abs, ms.store, posix.PosixOpts{
			SideCarDir: ms.sidecar,
			// Buckets keep old versions, as the lake's versioned buckets do on AWS, once
			// EnableVersioning turns it on for them; versitygw wants the directory outside Dir.
			VersioningDir:       versions,
			Concurrency:         256,
			CopyObjectThreshold: 5 << 30,
		})
	})
	if err != nil {
		return nil, fmt.Errorf("s3local: open the posix backend over %s: %w", abs, err)
	}

	port, err := freePort()
	if err != nil {
		be.Shutdown()
		restoreWD(wd)
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s := &Server{
		Dir:       abs,
		AccessKey: DefaultAccessKey,
		SecretKey: DefaultSecretKey,
		Region:    DefaultRegion,
		addr:      addr,
		done:      make(chan error, 1),
		prevWD:    wd,
	}
	runCtx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	cfg := &embedgw.Config{
		RootUserAccess:    s.AccessKey,
		RootUserSecret:    s.SecretKey,
		Region:            s.Region,
		Ports:             []string{addr},
		MaxConnections:    256,
		MaxRequests:       256,
		MultipartMaxParts: 10000,
		Quiet:             true,
		// Without keep-alive, shutdown does not wait ten seconds for the idle connections
		// of every client that ever talked to the server; loopback connections are cheap.
		KeepAlive: false,
		// The single-account IAM versitygw would pick anyway, built here so that it does not
		// announce itself on stdout, which the local host reserves for function output.
		IAMService: auth.NewIAMServiceSingle(auth.Account{Access: s.AccessKey, Secret: s.SecretKey, Role: auth.RoleAdmin}),
	}
	go func() { s.done <- embedgw.RunVersityGW(runCtx, &absentIsAbsent{Backend: be}, cfg) }()

	if err := s.waitReady(ctx); err != nil {
		cancel()
		<-s.done
		restoreWD(wd)
		return nil, err
	}
	return s, nil
}

// absentIsAbsent corrects versitygw v1.8.0's If-None-Match: * in a versioned bucket, which
// fails with 412 when the key's newest version is a delete marker (the marker keeps an ETag
// attribute); on S3 the key does not exist then, and the write succeeds. Promote's partition
// lock is such a write, released by a delete, so without this the local curated bucket (which
// is versioned, as on AWS) could be locked once only. When HEAD finds no object the condition
// holds and is dropped; the conditional writes of a key are serialised here so that none
// slips in between that HEAD and the write (the server serves one process anyway).
type absentIsAbsent struct {
	backend.Backend
	mu sync.Mutex
}

func (b *absentIsAbsent) PutObject(ctx context.Context, po s3response.PutObjectInput) (s3response.PutObjectOutput, error) {
	if po.IfNoneMatch == nil && po.IfMatch == nil {
		return b.Backend.PutObject(ctx, po)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if aws.ToString(po.IfNoneMatch) == "*" && po.IfMatch == nil {
		_, err := b.Backend.HeadObject(ctx, &s3.HeadObjectInput{Bucket: po.Bucket, Key: po.Key})
		var apiErr s3err.APIError
		if errors.As(err, &apiErr) && apiErr.Code == "NoSuchKey" {
			po.IfNoneMatch = nil
		}
	}
	return b.Backend.PutObject(ctx, po)
}

// quietly runs f with os.Stdout pointing nowhere: posix.New announces its versioning and
// sidecar directories there, and the local host keeps stdout for function output. Nothing
// else in the process writes to stdout while a server starts (one per process).
func quietly[T any](f func() (T, error)) (T, error) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return f()
	}
	prev := os.Stdout
	os.Stdout = null
	defer func() {
		os.Stdout = prev
		null.Close()
	}()
	return f()
}

type metaChoice struct {
	store   meta.MetadataStorer
	sidecar string
}

// metadataStore keeps metadata in xattrs so that Dir holds nothing but buckets and objects;
// on filesystems without user xattrs it falls back to a sidecar tree next to Dir.
func metadataStore(abs string) (metaChoice, error) {
	if err := (meta.XattrMeta{}).Test(abs); err == nil {
		return metaChoice{store: meta.XattrMeta{}}, nil
	}
	side := abs + ".s3meta"
	if err := os.MkdirAll(side, 0o755); err != nil {
		return metaChoice{}, fmt.Errorf("s3local: %s has no extended attributes and the metadata directory %s cannot be created: %w", abs, side, err)
	}
	sc, err := meta.NewSideCar(side)
	if err != nil {
		return metaChoice{}, fmt.Errorf("s3local: open metadata directory %s: %w", side, err)
	}
	return metaChoice{store: sc, sidecar: side}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("s3local: find a free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-s.done:
			s.done <- err // keep it for Close
			return fmt.Errorf("s3local: versitygw stopped while starting on %s: %w", s.addr, err)
		case <-ctx.Done():
			return fmt.Errorf("s3local: start on %s: %w", s.addr, ctx.Err())
		default:
		}
		c, err := net.DialTimeout("tcp", s.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("s3local: versitygw did not listen on %s within 15s: %w", s.addr, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func restoreWD(wd string) {
	_ = os.Chdir(wd) // best effort: the directory may be gone, and there is no better place
}

// Endpoint is the URL clients use, e.g. for AWS_ENDPOINT_URL_S3.
func (s *Server) Endpoint() string { return "http://" + s.addr }

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.addr }

// Client returns an S3 client signed with the server's credentials, path-style, and
// independent of the AWS_* environment.
func (s *Server) Client() *s3.Client {
	cfg := aws.Config{
		Region:      s.Region,
		Credentials: credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		HTTPClient:  awshttp.NewBuildableClient(),
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint())
		o.UsePathStyle = true
		o.DisableLogOutputChecksumValidationSkipped = true // stand-ins send no checksums
	})
}

// CreateBucket creates bucket name; an existing bucket is not an error.
func (s *Server) CreateBucket(ctx context.Context, name string) error {
	_, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode() == "BucketAlreadyOwnedByYou" || apiErr.ErrorCode() == "BucketAlreadyExists") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("s3local: create bucket %q on %s (bucket names are 3-63 lower-case letters, digits, '-' and '.'): %w", name, s.Endpoint(), err)
	}
	return nil
}

// EnableVersioning turns S3 versioning on for bucket: every write keeps a version that can
// be read by its id, while <Dir>/<bucket>/<key> stays the current one. Old versions live
// under <Dir>.versions.
func (s *Server) EnableVersioning(ctx context.Context, bucket string) error {
	_, err := s.Client().PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	if err != nil {
		return fmt.Errorf("s3local: enable versioning of bucket %q on %s: %w", bucket, s.Endpoint(), err)
	}
	return nil
}

// Close stops the server, waits for it, and restores the working directory. It is safe to
// call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		err := <-s.done
		restoreWD(s.prevWD)
		runningMu.Lock()
		running = false
		runningMu.Unlock()
		if err != nil && !errors.Is(err, context.Canceled) {
			s.closeErr = fmt.Errorf("s3local: versitygw on %s: %w", s.addr, err)
		}
	})
	return s.closeErr
}
