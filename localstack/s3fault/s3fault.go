// Package s3fault puts a fault-injecting proxy in front of an S3-protocol server, so tests can
// see what the lake does when a write fails part-way through a batch.
package s3fault

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
)

// Proxy forwards to an S3 endpoint and fails the requests that Fail selects with a 503
// SlowDown, as S3 does under pressure.
type Proxy struct {
	*httptest.Server
	mu    sync.Mutex
	fail  func(*http.Request) bool
	Fails int // requests failed so far
}

// Start proxies to target (http://127.0.0.1:port). Close it when done.
func Start(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	p := &Proxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		f := p.fail != nil && p.fail(r)
		if f {
			p.Fails++
		}
		p.mu.Unlock()
		if f {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>injected fault</Message></Error>`))
			return
		}
		rp.ServeHTTP(w, r)
	}))
	return p, nil
}

// FailWhen sets the selector; nil lets everything through.
func (p *Proxy) FailWhen(f func(*http.Request) bool) {
	p.mu.Lock()
	p.fail = f
	p.mu.Unlock()
}
