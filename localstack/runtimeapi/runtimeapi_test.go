package runtimeapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/infra/bundle"
	"github.com/sluicelake/sluice/localstack/runtimeapi"
)

// handlers holds the test handlers under testdata/, built once for the whole test binary.
var handlers string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "runtimeapi-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := BuildHandlers(dir, "echo", "fail", "panic", "sleep", "initerror"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	handlers = dir
	return m.Run()
}

// BuildHandlers builds ./testdata/<name> into dir/<name> the way Lambda bootstraps are built.
func BuildHandlers(dir string, names ...string) error {
	var pkgs []string
	for _, n := range names {
		pkgs = append(pkgs, "./testdata/"+n)
	}
	return bundle.Build(context.Background(), "", runtime.GOARCH, dir+string(filepath.Separator), pkgs...)
}

func start(t *testing.T, name string, mod func(*runtimeapi.Config)) *runtimeapi.Function {
	t.Helper()
	cfg := runtimeapi.Config{
		Name:   name + "-fn",
		Binary: filepath.Join(handlers, name),
		Region: "eu-west-1",
	}
	if testing.Verbose() {
		cfg.Stderr = os.Stderr
	}
	if mod != nil {
		mod(&cfg)
	}
	fn, err := runtimeapi.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fn.Close() })
	return fn
}

type echoReply struct {
	Event       json.RawMessage   `json:"event"`
	RequestID   string            `json:"requestId"`
	FunctionARN string            `json:"functionArn"`
	DeadlineMs  int64             `json:"deadlineMs"`
	TraceID     string            `json:"traceId"`
	Env         map[string]string `json:"env"`
	PID         int               `json:"pid"`
}

func invokeEcho(t *testing.T, fn *runtimeapi.Function, payload string) (runtimeapi.Result, echoReply) {
	t.Helper()
	res, err := fn.Invoke(context.Background(), []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	if res.FunctionError != nil {
		t.Fatalf("echo failed: %v", res.FunctionError)
	}
	var r echoReply
	if err := json.Unmarshal(res.Payload, &r); err != nil {
		t.Fatalf("echo answered %q: %v", res.Payload, err)
	}
	return res, r
}

func TestEchoSeesEventHeadersAndEnvironment(t *testing.T) {
	fn := start(t, "echo", func(c *runtimeapi.Config) {
		c.Env = []string{"SLUICE_TEST=yes"}
		c.Timeout = 7 * time.Second
		c.MemorySize = 256
	})
	if fn.InitDuration() <= 0 {
		t.Errorf("InitDuration = %v, want the measured cold start", fn.InitDuration())
	}

	before := time.Now()
	res, r := invokeEcho(t, fn, `{"hello":"world"}`)
	if !bytes.Equal(r.Event, []byte(`{"hello":"world"}`)) {
		t.Errorf("event = %s", r.Event)
	}
	if r.RequestID == "" || r.RequestID != res.RequestID {
		t.Errorf("request id seen by the function %q, reported %q", r.RequestID, res.RequestID)
	}
	if want := "arn:aws:lambda:eu-west-1:000000000000:function:echo-fn"; r.FunctionARN != want || fn.ARN() != want {
		t.Errorf("function ARN = %q (fn.ARN %q), want %q", r.FunctionARN, fn.ARN(), want)
	}
	deadline := time.UnixMilli(r.DeadlineMs)
	if deadline.Before(before.Add(6*time.Second)) || deadline.After(time.Now().Add(7*time.Second)) {
		t.Errorf("deadline %v is not the 7 s timeout from the invocation at %v", deadline, before)
	}
	if !strings.HasPrefix(r.TraceID, "Root=1-") {
		t.Errorf("trace id = %q", r.TraceID)
	}
	for k, want := range map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "echo-fn",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_REGION":                      "eu-west-1",
		"_HANDLER":                        "bootstrap",
		"SLUICE_TEST":                     "yes",
	} {
		if r.Env[k] != want {
			t.Errorf("%s = %q, want %q", k, r.Env[k], want)
		}
	}
	if res.InitDuration != 0 {
		t.Errorf("warm invocation reported an init duration of %v", res.InitDuration)
	}

	_, r2 := invokeEcho(t, fn, `"again"`)
	if r2.PID != r.PID || fn.ColdStarts() != 1 {
		t.Errorf("second invocation ran in pid %d after %d (cold starts %d): want the same warm process", r2.PID, r.PID, fn.ColdStarts())
	}
}

func TestFunctionErrorIsReported(t *testing.T) {
	fn := start(t, "fail", nil)
	res, err := fn.Invoke(context.Background(), []byte(`"x"`))
	if err != nil {
		t.Fatal(err)
	}
	fe := res.FunctionError
	if fe == nil {
		t.Fatalf("no function error; payload %q", res.Payload)
	}
	if fe.ErrorType != "validationError" || fe.ErrorMessage != `rejected "x"` {
		t.Errorf("function error = %+v", fe)
	}
	// A returned error leaves the environment warm.
	if _, err := fn.Invoke(context.Background(), []byte(`"y"`)); err != nil {
		t.Fatal(err)
	}
	if fn.ColdStarts() != 1 {
		t.Errorf("cold starts = %d, want 1", fn.ColdStarts())
	}
}

func TestPanicRestartsTheProcess(t *testing.T) {
	fn := start(t, "panic", nil)
	for i := range 3 {
		res, err := fn.Invoke(context.Background(), []byte(`"boom"`))
		if err != nil {
			t.Fatal(err)
		}
		if res.FunctionError == nil || !strings.Contains(res.FunctionError.ErrorMessage, `handler panicked on "boom"`) {
			t.Fatalf("invocation %d: function error = %+v", i, res.FunctionError)
		}
		if i > 0 && res.InitDuration <= 0 {
			t.Errorf("invocation %d after a crash reported no cold start", i)
		}
	}
	if got := fn.ColdStarts(); got != 3 {
		t.Errorf("cold starts = %d, want 3 (one per crash)", got)
	}
}

func TestTimeoutKillsAndNextInvokeRestarts(t *testing.T) {
	fn := start(t, "sleep", func(c *runtimeapi.Config) { c.Timeout = 200 * time.Millisecond })
	res, err := fn.Invoke(context.Background(), []byte(`{"ms":60000}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.FunctionError == nil || res.FunctionError.ErrorType != runtimeapi.ErrorTypeTimeout ||
		!strings.Contains(res.FunctionError.ErrorMessage, "Task timed out after 0.20 seconds") {
		t.Fatalf("function error = %+v, want a timeout", res.FunctionError)
	}
	res, err = fn.Invoke(context.Background(), []byte(`{"ms":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.FunctionError != nil || string(res.Payload) != `"slept"` {
		t.Fatalf("after the timeout: payload %q, error %v", res.Payload, res.FunctionError)
	}
	if fn.ColdStarts() != 2 || res.InitDuration <= 0 {
		t.Errorf("cold starts = %d, init duration %v: want a fresh process after the timeout", fn.ColdStarts(), res.InitDuration)
	}
}

func TestInvocationsAreSerialized(t *testing.T) {
	fn := start(t, "echo", nil)
	const n = 8
	pids := make(chan int, n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			res, err := fn.Invoke(context.Background(), []byte(fmt.Sprint(i)))
			if err == nil && res.FunctionError != nil {
				err = res.FunctionError
			}
			var r echoReply
			if err == nil {
				err = json.Unmarshal(res.Payload, &r)
			}
			errs <- err
			pids <- r.PID
		}()
	}
	first := 0
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		pid := <-pids
		if first == 0 {
			first = pid
		} else if pid != first {
			t.Errorf("invocations ran in processes %d and %d, want one environment", first, pid)
		}
	}
}

func TestStartFailsWhenTheRuntimeExitsDuringInit(t *testing.T) {
	_, err := runtimeapi.Start(context.Background(), runtimeapi.Config{
		Name:   "broken",
		Binary: filepath.Join(handlers, "fail"),
		Env:    []string{"EXIT_AT_INIT=1"},
	})
	if err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("Start = %v, want an error naming the exit status", err)
	}
}

func TestStartReportsTheInitError(t *testing.T) {
	_, err := runtimeapi.Start(context.Background(), runtimeapi.Config{Name: "initerror", Binary: filepath.Join(handlers, "initerror")})
	// Exit status 2 would mean the host did not answer the init error with 202.
	if err == nil || !strings.Contains(err.Error(), "Runtime.ConfigError") || !strings.Contains(err.Error(), "TABLE_NAME is not set") {
		t.Fatalf("Start = %v, want the posted init error", err)
	}
}

func TestStartNamesAMissingBinary(t *testing.T) {
	_, err := runtimeapi.Start(context.Background(), runtimeapi.Config{Name: "x", Binary: filepath.Join(t.TempDir(), "bootstrap")})
	if err == nil || !strings.Contains(err.Error(), "build it first") {
		t.Fatalf("Start = %v", err)
	}
}

func TestCloseStopsTheProcess(t *testing.T) {
	fn := start(t, "echo", nil)
	_, r := invokeEcho(t, fn, `1`)
	fn.Close()
	if _, err := fn.Invoke(context.Background(), []byte(`2`)); err != runtimeapi.ErrClosed {
		t.Errorf("Invoke after Close = %v, want ErrClosed", err)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", r.PID)); err == nil {
		t.Errorf("process %d still exists after Close", r.PID)
	}
}

func TestOversizedPayloadIsRejected(t *testing.T) {
	fn := start(t, "echo", nil)
	_, err := fn.Invoke(context.Background(), make([]byte, runtimeapi.MaxPayload+1))
	if err != runtimeapi.ErrPayloadTooLarge {
		t.Fatalf("err = %v", err)
	}
}

func TestCancelledInvokeKillsTheProcess(t *testing.T) {
	fn := start(t, "sleep", func(c *runtimeapi.Config) { c.Timeout = time.Minute })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := fn.Invoke(ctx, []byte(`{"ms":60000}`)); err != context.DeadlineExceeded {
		t.Fatalf("err = %v, want the context's error", err)
	}
	res, err := fn.Invoke(context.Background(), []byte(`{"ms":1}`))
	if err != nil || res.FunctionError != nil {
		t.Fatalf("after cancel: %v %v", err, res.FunctionError)
	}
	if fn.ColdStarts() != 2 {
		t.Errorf("cold starts = %d, want 2", fn.ColdStarts())
	}
}
