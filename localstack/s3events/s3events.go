// Package s3events gives the local S3 stand-in what S3 has and the stand-in lacks: per-bucket
// notifications. A Tap is a reverse proxy in front of the stand-in; every object created through
// it (PUT, copy, completed multipart upload) is announced, after the write succeeded and without
// delaying it, as an S3 event notification in AWS's own shape (events.S3Event) to the
// subscriptions whose bucket, prefix and suffix match, the way S3 notifies a function.
//
// Delivery is at least once, in order per subscription, retried with backoff; an event that still
// fails is written to a dead-letter folder with its payload, so nothing is lost.
package s3events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Subscription routes events to a function.
type Subscription struct {
	Name           string // for logs and dead letters
	Bucket         string
	Prefix, Suffix string
	// Deliver hands one event's JSON to the function; an error means it was not processed.
	Deliver func(ctx context.Context, event []byte) error
	// Attempts bounds deliveries of one event (default 3, as S3 retries asynchronous invokes).
	Attempts int
}

// Config of a tap.
type Config struct {
	Region string // default us-east-1
	// DeadLetterDir receives events that failed every attempt, one JSON file each.
	DeadLetterDir string
	// Backoff before the first retry; doubles. Default 100 ms.
	Backoff time.Duration
	Logger  *slog.Logger
	// Head looks up an object's size and ETag for events whose request does not tell them
	// (copies, completed multipart uploads). Optional: without it they carry size 0.
	Head func(ctx context.Context, bucket, key string) (size int64, etag string, err error)
}

// Tap is the proxy. Endpoint is what clients use instead of the stand-in's own.
type Tap struct {
	Endpoint string
	cfg      Config
	target   *url.URL
	srv      *http.Server
	mu       sync.Mutex
	subs     []*sub
	seq      atomic.Int64
	pending  sync.WaitGroup
	inflight atomic.Int64
	// Delivered and DeadLettered count events.
	Delivered, DeadLettered atomic.Int64
	ctx                     context.Context
	cancel                  context.CancelFunc
}

type sub struct {
	Subscription
	queue chan []byte
}

// Start listens on 127.0.0.1 and forwards to target (http://127.0.0.1:port of the stand-in).
func Start(target string, cfg Config) (*Tap, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 100 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	t := &Tap{Endpoint: "http://" + ln.Addr().String(), cfg: cfg, target: u}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		if created(resp.Request) && resp.StatusCode == http.StatusOK {
			bucket, key := split(resp.Request.URL.Path)
			name := eventName(resp.Request)
			size, etag := int64(-1), strings.Trim(resp.Header.Get("ETag"), `"`)
			if name == "ObjectCreated:Put" {
				size = resp.Request.ContentLength
				if d := resp.Request.Header.Get("X-Amz-Decoded-Content-Length"); d != "" {
					fmt.Sscan(d, &size) // aws-chunked bodies: the object is the decoded length
				}
			}
			t.announce(bucket, key, name, size, etag, resp.Header.Get("X-Amz-Version-Id"))
		}
		return nil
	}
	t.srv = &http.Server{Handler: rp, ReadHeaderTimeout: 30 * time.Second}
	go t.srv.Serve(ln)
	return t, nil
}

// Subscribe adds a subscription; events from then on are delivered to it.
func (t *Tap) Subscribe(s Subscription) {
	if s.Attempts <= 0 {
		s.Attempts = 3
	}
	sb := &sub{Subscription: s, queue: make(chan []byte, 4096)}
	t.mu.Lock()
	t.subs = append(t.subs, sb)
	t.mu.Unlock()
	go t.run(sb)
}

// created tells object-creating requests: PUT without partNumber (a part is not an object) and
// POST with uploadId (CompleteMultipartUpload).
func created(r *http.Request) bool {
	q := r.URL.Query()
	switch r.Method {
	case http.MethodPut:
		_, part := q["partNumber"]
		_, tagging := q["tagging"]
		_, acl := q["acl"]
		bucket, key := split(r.URL.Path)
		return bucket != "" && key != "" && !part && !tagging && !acl
	case http.MethodPost:
		_, upload := q["uploadId"]
		return upload
	}
	return false
}

func eventName(r *http.Request) string {
	switch {
	case r.Method == http.MethodPost:
		return "ObjectCreated:CompleteMultipartUpload"
	case r.Header.Get("X-Amz-Copy-Source") != "":
		return "ObjectCreated:Copy"
	}
	return "ObjectCreated:Put"
}

// split takes bucket and key out of a path-style URL path.
func split(path string) (bucket, key string) {
	path = strings.TrimPrefix(path, "/")
	bucket, key, _ = strings.Cut(path, "/")
	return bucket, key
}

// announce looks the new object up (size, ETag, as the event carries them) and queues the event
// for every matching subscription.
func (t *Tap) announce(bucket, key, name string, size int64, etag, version string) {
	t.mu.Lock()
	var matched []*sub
	for _, s := range t.subs {
		if s.Bucket == bucket && strings.HasPrefix(key, s.Prefix) && strings.HasSuffix(key, s.Suffix) {
			matched = append(matched, s)
		}
	}
	t.mu.Unlock()
	if len(matched) == 0 {
		return
	}
	if (size < 0 || etag == "") && t.cfg.Head != nil {
		if s, e, err := t.cfg.Head(t.ctx, bucket, key); err == nil {
			size, etag = s, e
		}
	}
	size = max(size, 0)
	object := map[string]any{"key": encodeKey(key), "size": size, "eTag": etag, "sequencer": fmt.Sprintf("%016X", t.seq.Add(1))}
	if version != "" {
		// As S3 does: only a versioned bucket's events name the version, which is what lineage
		// reads (the object may have been rewritten by the time the event is handled).
		object["versionId"] = version
	}
	ev := map[string]any{"Records": []any{map[string]any{
		"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": t.cfg.Region,
		"eventTime": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "eventName": name,
		"userIdentity":      map[string]any{"principalId": "local"},
		"requestParameters": map[string]any{"sourceIPAddress": "127.0.0.1"},
		"responseElements":  map[string]any{"x-amz-request-id": fmt.Sprintf("local-%d", t.seq.Load()), "x-amz-id-2": "local"},
		"s3": map[string]any{
			"s3SchemaVersion": "1.0", "configurationId": "sluice-local",
			"bucket": map[string]any{"name": bucket, "ownerIdentity": map[string]any{"principalId": "local"}, "arn": "arn:aws:s3:::" + bucket},
			"object": object,
		},
	}}}
	payload, _ := json.Marshal(ev)
	for _, s := range matched {
		t.pending.Add(1)
		t.inflight.Add(1)
		s.queue <- payload
	}
}

// encodeKey encodes a key as S3 does in notifications: URL encoding, spaces as '+', '/' kept.
func encodeKey(key string) string {
	return strings.ReplaceAll(url.QueryEscape(key), "%2F", "/")
}

func (t *Tap) run(s *sub) {
	for {
		select {
		case <-t.ctx.Done():
			return
		case payload := <-s.queue:
			t.deliver(s, payload)
			t.inflight.Add(-1)
			t.pending.Done()
		}
	}
}

func (t *Tap) deliver(s *sub, payload []byte) {
	wait := t.cfg.Backoff
	var err error
	for attempt := 1; attempt <= s.Attempts; attempt++ {
		if err = s.Deliver(t.ctx, payload); err == nil {
			t.Delivered.Add(1)
			return
		}
		t.cfg.Logger.Warn("event delivery failed", "subscription", s.Name, "attempt", attempt, "error", err)
		if attempt < s.Attempts {
			select {
			case <-t.ctx.Done():
				return
			case <-time.After(wait):
			}
			wait *= 2
		}
	}
	t.DeadLettered.Add(1)
	if t.cfg.DeadLetterDir == "" {
		t.cfg.Logger.Error("event dropped: no dead-letter folder", "subscription", s.Name, "error", err)
		return
	}
	rec, _ := json.MarshalIndent(map[string]any{"subscription": s.Name, "error": err.Error(), "attempts": s.Attempts,
		"event": json.RawMessage(payload)}, "", "  ")
	os.MkdirAll(t.cfg.DeadLetterDir, 0o755)
	name := filepath.Join(t.cfg.DeadLetterDir, fmt.Sprintf("%s-%d.json", s.Name, time.Now().UnixNano()))
	if werr := os.WriteFile(name, rec, 0o644); werr != nil {
		t.cfg.Logger.Error("dead letter not written", "file", name, "error", werr)
	}
}

// WaitIdle returns once every announced event has been delivered or dead-lettered.
func (t *Tap) WaitIdle(ctx context.Context) error {
	done := make(chan struct{})
	go func() { t.pending.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("s3events: %d events still in flight: %w", t.inflight.Load(), ctx.Err())
	}
}

// Close stops the proxy and the deliveries.
func (t *Tap) Close() error {
	t.cancel()
	return t.srv.Close()
}
