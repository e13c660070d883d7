// Package runtimeapi runs a built Lambda bootstrap binary on this machine, speaking the AWS Lambda
// Runtime API to it the way the Lambda service does, so a function can be invoked without Docker
// and without the Runtime Interface Emulator.
//
// A Function is one execution environment: one process, one invocation at a time. The process is
// started (cold start) by Start, killed when an invocation times out, and started again on the next
// invocation after a timeout or a crash, as Lambda replaces a failed environment.
package runtimeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/sluicelake/sluice/localstack/procgroup"
)

// Limits and defaults of the Lambda service.
const (
	// MaxPayload is the largest synchronous request or response payload Lambda accepts.
	MaxPayload = 6 * 1024 * 1024
	// DefaultTimeout is Lambda's default function timeout.
	DefaultTimeout = 3 * time.Second
	// DefaultMemorySize is Lambda's default memory size in MB. It is only reported to the
	// function (AWS_LAMBDA_FUNCTION_MEMORY_SIZE); nothing enforces it here.
	DefaultMemorySize = 128
	// DefaultInitTimeout is how long Lambda lets a runtime take to ask for its first event.
	DefaultInitTimeout = 10 * time.Second
	// DefaultAccountID is the account used in ARNs when Config.AccountID is empty; it is the
	// account LocalStack and kinesis-mock use too.
	DefaultAccountID = "000000000000"
)

// Error types the host reports itself, named as Lambda names them.
const (
	ErrorTypeTimeout           = "Sandbox.Timedout"
	ErrorTypeExit              = "Runtime.ExitError"
	ErrorTypeResponseTooLarge  = "Function.ResponseSizeTooLarge"
	ErrorTypeUnhandled         = "Unhandled"
	ErrorTypeInitTimeout       = "Runtime.InitTimeout"
	errorTypeHeader            = "Lambda-Runtime-Function-Error-Type"
	runtimeAPIPrefix           = "/2018-06-01/runtime/"
	headerRequestID            = "Lambda-Runtime-Aws-Request-Id"
	headerDeadline             = "Lambda-Runtime-Deadline-Ms"
	headerInvokedFunctionARN   = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID              = "Lambda-Runtime-Trace-Id"
	maxErrorBody               = 1 << 20
	shutdownGrace              = 500 * time.Millisecond
	waitDelayForInheritedPipes = time.Second
)

// ErrPayloadTooLarge is returned by Invoke for a request payload over MaxPayload, as Lambda
// rejects it before any function runs.
var ErrPayloadTooLarge = errors.New("runtimeapi: request payload is larger than Lambda's 6 MB limit")

// ErrClosed is returned by Invoke after Close.
var ErrClosed = errors.New("runtimeapi: function is closed")

// Config describes one function.
type Config struct {
	// Name is the function name (AWS_LAMBDA_FUNCTION_NAME, and the last part of its ARN).
	Name string
	// Binary is the path to a built bootstrap (go build -tags lambda.norpc).
	Binary string
	// Env is added to the Lambda environment, as the function's environment variables are;
	// a name set here wins over the defaults.
	Env []string
	// Timeout is the function timeout; zero means DefaultTimeout.
	Timeout time.Duration
	// InitTimeout bounds a cold start (process start until its first request for an event);
	// zero means DefaultInitTimeout.
	InitTimeout time.Duration
	// MemorySize in MB; zero means DefaultMemorySize.
	MemorySize int
	// Handler is _HANDLER; empty means "bootstrap", what provided.al2023 functions use.
	Handler string
	// Region is AWS_REGION and AWS_DEFAULT_REGION; empty means the host's AWS_REGION, then
	// AWS_DEFAULT_REGION, then us-east-1.
	Region string
	// AccountID is used in the function ARN; empty means DefaultAccountID.
	AccountID string
	// Stdout and Stderr receive the process's output (its "CloudWatch logs"); nil discards it.
	Stdout, Stderr io.Writer
}

// FunctionError is an error the function reported (or the host reported on its behalf, for a
// timeout or crash), in the shape Lambda returns it.
type FunctionError struct {
	ErrorMessage string          `json:"errorMessage"`
	ErrorType    string          `json:"errorType"`
	StackTrace   json.RawMessage `json:"stackTrace,omitempty"`
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("function error %s: %s", e.ErrorType, e.ErrorMessage)
}

// Result is the outcome of one invocation.
type Result struct {
	// RequestID is the id the function saw as Lambda-Runtime-Aws-Request-Id.
	RequestID string
	// Payload is the function's response (nil when FunctionError is set).
	Payload []byte
	// FunctionError is set when the function failed: it returned or panicked with an error,
	// timed out, crashed, or failed to initialise.
	FunctionError *FunctionError
	// Duration runs from handing the event to the function until its answer (or the timeout).
	Duration time.Duration
	// InitDuration is the cold start this invocation waited for (process start until its first
	// request for an event); zero for a warm invocation.
	InitDuration time.Duration
}

// Function is one running execution environment of a Lambda function.
type Function struct {
	cfg Config
	arn string
	env []string

	slot chan struct{} // one invocation at a time, as one Lambda execution environment

	mu       sync.Mutex
	cur      *instance
	closed   bool
	lastInit time.Duration
	starts   int
}

// Start starts the function's process and waits until it asks for its first event, so that
// errors in the binary or its initialisation surface here.
func Start(ctx context.Context, cfg Config) (*Function, error) {
	if cfg.Name == "" {
		return nil, errors.New("runtimeapi: Config.Name is empty: give the function a name")
	}
	bin, err := filepath.Abs(cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("runtimeapi: binary path %q: %w", cfg.Binary, err)
	}
	if st, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("runtimeapi: function %s: %w (build it first, e.g. `make build`)", cfg.Name, err)
	} else if st.IsDir() {
		return nil, fmt.Errorf("runtimeapi: function %s: %s is a directory, want the built bootstrap binary", cfg.Name, bin)
	}
	cfg.Binary = bin
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = DefaultInitTimeout
	}
	if cfg.MemorySize <= 0 {
		cfg.MemorySize = DefaultMemorySize
	}
	if cfg.Handler == "" {
		cfg.Handler = "bootstrap"
	}
	if cfg.Region == "" {
		cfg.Region = firstNonEmpty(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"), "us-east-1")
	}
	if cfg.AccountID == "" {
		cfg.AccountID = DefaultAccountID
	}
	f := &Function{
		cfg:  cfg,
		arn:  fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", cfg.Region, cfg.AccountID, cfg.Name),
		slot: make(chan struct{}, 1),
	}
	f.env = f.environment()
	inst, _, ferr := f.coldStart(ctx)
	if ferr != nil {
		return nil, fmt.Errorf("runtimeapi: function %s did not start: %w", cfg.Name, ferr)
	}
	f.mu.Lock()
	f.cur = inst
	f.mu.Unlock()
	return f, nil
}

// ARN is the function's ARN, as sent in Lambda-Runtime-Invoked-Function-Arn.
func (f *Function) ARN() string { return f.arn }

// Name is the function name.
func (f *Function) Name() string { return f.cfg.Name }

// InitDuration is the duration of the latest cold start: process start until its first request
// for an event ("start to ready").
func (f *Function) InitDuration() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastInit
}

// ColdStarts counts the processes started so far, the first one included.
func (f *Function) ColdStarts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.starts
}

// Invoke runs the function once on payload, synchronously, like Invoke with
// RequestResponse. Function failures are reported in Result.FunctionError; the error return is for
// failures of the host itself, a cancelled ctx, an oversized payload or a closed Function.
//
// If ctx ends while the function runs, the process is killed, as its state is unknown.
func (f *Function) Invoke(ctx context.Context, payload []byte) (Result, error) {
	if len(payload) > MaxPayload {
		return Result{}, ErrPayloadTooLarge
	}
	select {
	case f.slot <- struct{}{}:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	defer func() { <-f.slot }()

	var initTotal time.Duration
	for attempt := 0; ; attempt++ {
		inst, initDur, err := f.instance(ctx)
		initTotal += initDur
		if err != nil {
			var fe *FunctionError
			if errors.As(err, &fe) {
				return Result{FunctionError: fe, InitDuration: initTotal}, nil
			}
			return Result{InitDuration: initTotal}, err
		}
		r, handedOver, err := inst.invoke(ctx, payload, f)
		r.InitDuration = initTotal
		if !handedOver && err == nil {
			if attempt == 0 {
				// The process died between invocations (after a panic it posts the error,
				// then exits): replace it, as Lambda would use a fresh environment.
				continue
			}
			r.FunctionError = &FunctionError{ErrorType: ErrorTypeExit, ErrorMessage: "Runtime exited before taking the event: " + exitText(inst.exitErr)}
		}
		return r, err
	}
}

// instance returns the live process, starting a new one if there is none.
func (f *Function) instance(ctx context.Context) (*instance, time.Duration, error) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, 0, ErrClosed
	}
	inst := f.cur
	f.mu.Unlock()
	if inst != nil && !inst.dead() {
		return inst, 0, nil
	}
	if inst != nil {
		inst.stop()
	}
	inst, elapsed, ferr := f.coldStart(ctx)
	if ferr != nil {
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		return nil, elapsed, ferr
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		inst.stop()
		return nil, 0, ErrClosed
	}
	f.cur = inst
	f.mu.Unlock()
	return inst, inst.initDuration, nil
}

// Close stops the process and its Runtime API server. An invocation in flight ends with an error.
func (f *Function) Close() error {
	f.mu.Lock()
	f.closed = true
	inst := f.cur
	f.cur = nil
	f.mu.Unlock()
	if inst != nil {
		inst.shutdown()
	}
	return nil
}

func (f *Function) environment() []string {
	c := f.cfg
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"LANG=en_US.UTF-8",
		"TZ=:UTC",
		"LAMBDA_TASK_ROOT=" + filepath.Dir(c.Binary),
		"LAMBDA_RUNTIME_DIR=" + filepath.Dir(c.Binary),
		"_HANDLER=" + c.Handler,
		"AWS_LAMBDA_FUNCTION_NAME=" + c.Name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(c.MemorySize),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + c.Name,
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_REGION=" + c.Region,
		"AWS_DEFAULT_REGION=" + c.Region,
	}
	// Lambda hands the function its role's credentials and nothing else from outside. Locally
	// the equivalent is the developer's AWS settings: credentials, endpoints (AWS_ENDPOINT_URL
	// points the SDK at the local stand-ins) and the CA bundle.
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "AWS_REGION", name == "AWS_DEFAULT_REGION":
		case strings.HasPrefix(name, "AWS_ACCESS_KEY_ID"), strings.HasPrefix(name, "AWS_SECRET_ACCESS_KEY"),
			strings.HasPrefix(name, "AWS_SESSION_TOKEN"), strings.HasPrefix(name, "AWS_ENDPOINT_URL"),
			name == "AWS_CA_BUNDLE", name == "HOME", name == "GOCOVERDIR":
			env = append(env, kv)
		}
	}
	return append(env, c.Env...)
}

// coldStart starts a process with its own Runtime API server and waits until it asks for an event.
func (f *Function) coldStart(ctx context.Context) (*instance, time.Duration, *FunctionError) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, &FunctionError{ErrorType: "Runtime.HostError", ErrorMessage: "listen on 127.0.0.1: " + err.Error()}
	}
	inst := &instance{
		fn:       f,
		ready:    make(chan struct{}),
		exited:   make(chan struct{}),
		next:     make(chan *invocation),
		inflight: make(map[string]*invocation),
	}
	inst.srv = &http.Server{Handler: inst, ReadHeaderTimeout: 10 * time.Second}

	cmd := exec.Command(f.cfg.Binary)
	cmd.Dir = filepath.Dir(f.cfg.Binary)
	cmd.Env = append(append([]string{}, f.env...), "AWS_LAMBDA_RUNTIME_API="+ln.Addr().String(),
		"AWS_LAMBDA_LOG_STREAM_NAME="+time.Now().UTC().Format("2006/01/02")+"/[$LATEST]"+strings.ReplaceAll(uuid.NewString(), "-", ""))
	cmd.Stdout = f.cfg.Stdout
	cmd.Stderr = f.cfg.Stderr
	cmd.WaitDelay = waitDelayForInheritedPipes
	procgroup.Set(cmd)
	inst.cmd = cmd

	inst.started = time.Now()
	if err := cmd.Start(); err != nil {
		ln.Close()
		return nil, time.Since(inst.started), &FunctionError{ErrorType: "Runtime.InvalidEntrypoint", ErrorMessage: err.Error()}
	}
	// Serve only once the instance is set up; meanwhile the listener queues the process's first
	// connection.
	go func() { _ = inst.srv.Serve(ln) }()
	go func() {
		inst.exitErr = cmd.Wait()
		close(inst.exited)
	}()
	f.mu.Lock()
	f.starts++
	f.mu.Unlock()

	timer := time.NewTimer(f.cfg.InitTimeout)
	defer timer.Stop()
	select {
	case <-inst.ready:
		f.mu.Lock()
		f.lastInit = inst.initDuration
		f.mu.Unlock()
		return inst, inst.initDuration, nil
	case <-inst.exited:
		inst.stop()
		if ie := inst.reportedInitError(); ie != nil {
			return nil, time.Since(inst.started), ie
		}
		return nil, time.Since(inst.started), &FunctionError{ErrorType: ErrorTypeExit, ErrorMessage: "Runtime exited during init: " + exitText(inst.exitErr)}
	case <-timer.C:
		inst.stop()
		return nil, time.Since(inst.started), &FunctionError{ErrorType: ErrorTypeInitTimeout, ErrorMessage: fmt.Sprintf("runtime did not ask for an event within %s of starting", f.cfg.InitTimeout)}
	case <-ctx.Done():
		inst.stop()
		return nil, time.Since(inst.started), &FunctionError{ErrorType: "Runtime.Cancelled", ErrorMessage: ctx.Err().Error()}
	}
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// instance is one process and the Runtime API server it talks to. Giving each process its own
// server means a killed process's lingering requests can never pick up the next event.
type instance struct {
	fn      *Function
	cmd     *exec.Cmd
	srv     *http.Server
	started time.Time

	readyOnce    sync.Once
	ready        chan struct{}
	initDuration time.Duration

	exited  chan struct{}
	exitErr error

	next chan *invocation

	mu        sync.Mutex
	inflight  map[string]*invocation
	initError *FunctionError
	stopOnce  sync.Once
}

type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	trace    string
	done     chan outcome
}

type outcome struct {
	payload []byte
	ferr    *FunctionError
}

func (in *instance) dead() bool {
	select {
	case <-in.exited:
		return true
	default:
		return false
	}
}

func (in *instance) reportedInitError() *FunctionError {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.initError
}

// invoke hands one event to the process and waits for its answer. handedOver is false when the
// process was found dead before it took the event.
func (in *instance) invoke(ctx context.Context, payload []byte, f *Function) (res Result, handedOver bool, err error) {
	inv := &invocation{
		id:      uuid.NewString(),
		payload: payload,
		trace:   traceID(),
		done:    make(chan outcome, 1),
	}
	res.RequestID = inv.id
	start := time.Now()
	inv.deadline = start.Add(f.cfg.Timeout)
	in.mu.Lock()
	in.inflight[inv.id] = inv
	in.mu.Unlock()
	defer func() {
		in.mu.Lock()
		delete(in.inflight, inv.id)
		in.mu.Unlock()
	}()

	timer := time.NewTimer(f.cfg.Timeout)
	defer timer.Stop()
	timedOut := false
	select {
	case in.next <- inv:
		handedOver = true
	case <-in.exited:
		return res, false, nil
	case <-timer.C:
		// Alive but not asking for events: a hung runtime, handled as a timeout.
		handedOver, timedOut = true, true
	case <-ctx.Done():
		return res, false, ctx.Err()
	}
	if !timedOut {
		select {
		case out := <-inv.done:
			res.Payload, res.FunctionError = out.payload, out.ferr
		case <-in.exited:
			// A panicking handler posts its error and then exits: prefer the posted error.
			select {
			case out := <-inv.done:
				res.Payload, res.FunctionError = out.payload, out.ferr
			default:
				res.FunctionError = &FunctionError{
					ErrorType:    ErrorTypeExit,
					ErrorMessage: fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %s", inv.id, exitText(in.exitErr)),
				}
			}
		case <-timer.C:
			timedOut = true
		case <-ctx.Done():
			in.stop()
			return res, true, ctx.Err()
		}
	}
	if timedOut {
		in.stop()
		res.FunctionError = &FunctionError{
			ErrorType:    ErrorTypeTimeout,
			ErrorMessage: fmt.Sprintf("%s %s Task timed out after %.2f seconds", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), inv.id, f.cfg.Timeout.Seconds()),
		}
	}
	res.Duration = time.Since(start)
	return res, handedOver, nil
}

// stop kills the process group and the server, and waits for the process to be reaped.
func (in *instance) stop() {
	in.stopOnce.Do(func() {
		procgroup.Kill(in.cmd)
		<-in.exited
		_ = in.srv.Close()
	})
}

// shutdown asks the process to stop (SIGTERM) before killing it, as Lambda does on shutdown.
func (in *instance) shutdown() {
	if !in.dead() {
		procgroup.Terminate(in.cmd)
		select {
		case <-in.exited:
		case <-time.After(shutdownGrace):
		}
	}
	in.stop()
}

// ServeHTTP implements the Runtime API for this instance's process.
func (in *instance) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, runtimeAPIPrefix)
	if !ok {
		apiError(w, http.StatusNotFound, "InvalidPath", "unknown Runtime API path "+r.URL.Path)
		return
	}
	switch {
	case path == "invocation/next" && r.Method == http.MethodGet:
		in.serveNext(w, r)
	case path == "init/error" && r.Method == http.MethodPost:
		fe := readFunctionError(r)
		in.mu.Lock()
		in.initError = fe
		in.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"OK"}`)
	case strings.HasPrefix(path, "invocation/") && r.Method == http.MethodPost:
		id, kind, _ := strings.Cut(strings.TrimPrefix(path, "invocation/"), "/")
		in.serveResult(w, r, id, kind)
	default:
		apiError(w, http.StatusNotFound, "InvalidPath", r.Method+" "+r.URL.Path+" is not part of the Runtime API")
	}
}

func (in *instance) serveNext(w http.ResponseWriter, r *http.Request) {
	in.readyOnce.Do(func() {
		in.initDuration = time.Since(in.started)
		close(in.ready)
	})
	select {
	case inv := <-in.next:
		h := w.Header()
		h.Set(headerRequestID, inv.id)
		h.Set(headerDeadline, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set(headerInvokedFunctionARN, in.fn.arn)
		h.Set(headerTraceID, inv.trace)
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.payload)
	case <-r.Context().Done():
	}
}

func (in *instance) serveResult(w http.ResponseWriter, r *http.Request, id, kind string) {
	if kind != "response" && kind != "error" {
		apiError(w, http.StatusNotFound, "InvalidPath", "unknown Runtime API path "+r.URL.Path)
		return
	}
	in.mu.Lock()
	inv := in.inflight[id]
	in.mu.Unlock()
	if inv == nil {
		apiError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation in flight with request id "+id)
		return
	}
	var out outcome
	if kind == "error" {
		out.ferr = readFunctionError(r)
	} else {
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
		switch {
		case err != nil:
			out.ferr = &FunctionError{ErrorType: ErrorTypeUnhandled, ErrorMessage: "reading the function response: " + err.Error()}
		case len(body) > MaxPayload:
			out.ferr = &FunctionError{ErrorType: ErrorTypeResponseTooLarge, ErrorMessage: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxPayload)}
		default:
			out.payload = body
		}
	}
	select {
	case inv.done <- out:
	default: // answered twice: keep the first, as Lambda does
	}
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func readFunctionError(r *http.Request) *FunctionError {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxErrorBody))
	fe := &FunctionError{}
	if err := json.Unmarshal(body, fe); err != nil || (fe.ErrorType == "" && fe.ErrorMessage == "") {
		fe = &FunctionError{ErrorMessage: string(bytes.TrimSpace(body))}
	}
	if fe.ErrorType == "" {
		fe.ErrorType = firstNonEmpty(r.Header.Get(errorTypeHeader), ErrorTypeUnhandled)
	}
	return fe
}

func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorType": typ, "errorMessage": msg})
}

// traceID makes an X-Ray trace header like the one Lambda passes (not sampled).
func traceID() string {
	id := strings.ReplaceAll(uuid.NewString(), "-", "")
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), id[:24], id[16:32])
}
