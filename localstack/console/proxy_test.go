package console_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/sluicelake/sluice/localstack/console"
	"github.com/sluicelake/sluice/shared/query/api"
)

// TestProxySigns: the proxy serves the console's files itself and forwards API calls to the
// target under its stage path, SigV4-signed (the target recomputes the signature with the same
// keys), without the browser's cookies; requests from another origin are refused unsent.
func TestProxySigns(t *testing.T) {
	creds := credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")
	var got []*http.Request
	var bodies []string
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got = append(got, r)
		bodies = append(bodies, string(body))
		// Verify the signature: sign a copy at the request's own time with the same keys.
		at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
		if err != nil {
			http.Error(w, `{"error":"unsigned"}`, http.StatusForbidden)
			return
		}
		check, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
		for _, h := range []string{"Content-Type"} {
			if v := r.Header.Get(h); v != "" {
				check.Header.Set(h, v)
			}
		}
		sum := sha256.Sum256(body)
		c, _ := creds.Retrieve(context.Background())
		if err := v4.NewSigner().SignHTTP(context.Background(), c, check, hex.EncodeToString(sum[:]), "execute-api", "eu-west-1", at); err != nil {
			t.Error(err)
		}
		if check.Header.Get("Authorization") != r.Header.Get("Authorization") {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"message":"The request signature we calculated does not match the signature you provided."}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(`{"id":"q1"}`))
	}))
	defer target.Close()
	u, _ := url.Parse(target.URL + "/prod")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	srv := &http.Server{Handler: console.Proxy(addr, u, api.SigV4(creds, "eu-west-1"), nil)}
	go srv.Serve(l)
	defer srv.Close()
	base := "http://" + addr

	req, _ := http.NewRequest(http.MethodPost, base+"/queries?wait=10", strings.NewReader(`{"dataset":"user_events"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cookie", "session=browser-secret")
	req.Header.Set("Origin", base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || string(b) != `{"id":"q1"}` {
		t.Fatalf("forwarded query: %d %s", resp.StatusCode, b)
	}
	if len(got) != 1 || got[0].URL.Path != "/prod/queries" || got[0].URL.RawQuery != "wait=10" || bodies[0] != `{"dataset":"user_events"}` || got[0].Header.Get("Cookie") != "" {
		t.Fatalf("the API got %v %q %q cookie %q", got[0].URL, got[0].URL.RawQuery, bodies, got[0].Header.Get("Cookie"))
	}

	resp, err = http.Get(base + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte("console.js")) || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("console page: %d %s %v", resp.StatusCode, b, resp.Header)
	}
	if len(got) != 1 {
		t.Errorf("the console's files went to the API")
	}

	for name, set := range map[string]func(*http.Request){
		"another origin":   func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") },
		"cross-site fetch": func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") },
		"another host":     func(r *http.Request) { r.Host = "rebound.example:8089" },
	} {
		req, _ := http.NewRequest(http.MethodPost, base+"/queries", strings.NewReader(`{}`))
		set(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "console proxy") {
			t.Errorf("%s: %d %s", name, resp.StatusCode, b)
		}
	}
	if len(got) != 1 {
		t.Errorf("a refused request reached the API: %d requests", len(got))
	}
}
