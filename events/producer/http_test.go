package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	sluiceevents "github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/kinesislocal"
	"github.com/sluicelake/sluice/shared/collect"
	"github.com/sluicelake/sluice/shared/streammap"
)

// TestProduceOverHTTP sends through the events API (the collect service on kinesis-local,
// behind an HTTP server that insists on a SigV4 signature for execute-api, as the deployed API's
// IAM authorizer does).
func TestProduceOverHTTP(t *testing.T) {
	srv := kinesislocal.ForTest(t)
	kc := srv.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := kinesislocal.CreateStream(ctx, kc, "sluice-events", 2); err != nil {
		t.Fatal(err)
	}
	reg, err := sluiceevents.Registry()
	if err != nil {
		t.Fatal(err)
	}
	m, _ := streammap.New(nil, "sluice-events")
	svc := &collect.Service{Contracts: reg, Streams: m, Kinesis: kc}
	var unsigned int
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(auth, "/us-east-1/execute-api/aws4_request") {
			unsigned++
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"message":"Forbidden"}`))
			return
		}
		body, _ := io.ReadAll(r.Body)
		resp := svc.Serve(r.Context(), collect.Request{Method: r.Method, Path: r.URL.Path, Body: body})
		w.WriteHeader(resp.Status)
		w.Write(resp.Body)
	}))
	defer api.Close()
	for k, v := range map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	} {
		t.Setenv(k, v)
	}

	var out, errs bytes.Buffer
	args := []string{"--http", api.URL, "--sigv4", "--dataset", "all", "--amount", "1200", "--bad", "0.05", "--seed", "9"}
	if code := run(ctx, args, &out, &errs); code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out.String(), errs.String())
	}
	t.Logf("summary:\n%s", out.String())
	// The bad records are the API's rejections, one for one; none reached the stream.
	if !strings.Contains(out.String(), "bad records produced: 60 of 1200") || !strings.Contains(out.String(), "accepted 1140, rejected 60, failed 0") || unsigned != 0 {
		t.Errorf("summary (unsigned calls %d):\n%s", unsigned, out.String())
	}

	// Unsigned, the API refuses the call: the producer stops and says what the API said.
	out.Reset()
	errs.Reset()
	if code := run(ctx, []string{"--http", api.URL, "--amount", "3", "--seed", "1"}, &out, &errs); code != 1 || !strings.Contains(errs.String(), "403: Forbidden") {
		t.Errorf("unsigned: exit %d, stderr %s", code, errs.String())
	}
}
