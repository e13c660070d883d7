package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelake/sluice/shared/access"
	"github.com/sluicelake/sluice/shared/envvar"
	"github.com/sluicelake/sluice/shared/query/api"
	"github.com/sluicelake/sluice/shared/query/athena"
	"github.com/sluicelake/sluice/shared/zone"
)

// handler adapts API Gateway HTTP API (payload 2.0) events to the query API.
type handler struct{ svc *api.Service }

func newHandler(svc *api.Service) *handler { return &handler{svc: svc} }

func (h *handler) handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return respond(api.Response{Status: 400, Body: []byte(`{"error":"the body is marked base64 but does not decode"}`)}), nil
		}
		body = b
	}
	q := url.Values{}
	for k, v := range ev.QueryStringParameters {
		q.Set(k, v)
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	resp := h.svc.Serve(ctx, api.Request{Method: ev.RequestContext.HTTP.Method, Path: path, Query: q, Body: body, Caller: callerOf(ev),
		RequestID: ev.RequestContext.RequestID})
	return respond(resp), nil
}

// callerOf is the principal API Gateway's IAM authorizer verified. Headers are never read for
// it: anyone can send a header, only a valid signature names a principal.
func callerOf(ev events.APIGatewayV2HTTPRequest) access.Caller {
	if a := ev.RequestContext.Authorizer; a != nil && a.IAM != nil {
		return access.CallerOf(a.IAM.UserARN)
	}
	return access.Caller{}
}

func respond(r api.Response) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{
		StatusCode: r.Status,
		Headers:    map[string]string{"Content-Type": r.Type(), "Cache-Control": "no-store"},
		Body:       string(r.Body),
	}
}

type settings struct {
	athena        athena.Options
	rawSQL        bool
	curatedBucket string
	auditBucket   string
	// zoneBuckets are the zones the catalog (GET /datasets) reads, those whose bucket is set.
	zoneBuckets map[zone.Zone]string
	// eraseGrace is POST /erase's grace period for snapshots that still reference erased rows.
	eraseGrace time.Duration
}

// readSettings reads the function's environment.
func readSettings(getenv func(string) string) (settings, error) {
	s := settings{
		athena:        athena.Options{Database: getenv(envvar.GlueDatabase), WorkGroup: getenv(envvar.AthenaWorkGroup)},
		curatedBucket: getenv(envvar.CuratedBucket),
		auditBucket:   getenv(envvar.AuditBucket),
	}
	s.zoneBuckets = map[zone.Zone]string{}
	for z, v := range map[zone.Zone]string{zone.Raw: envvar.RawBucket, zone.Cleansed: envvar.CleansedBucket,
		zone.Curated: envvar.CuratedBucket, zone.Quarantine: envvar.QuarantineBucket} {
		if b := getenv(v); b != "" {
			s.zoneBuckets[z] = b
		}
	}
	if s.athena.Database == "" || s.athena.WorkGroup == "" || s.auditBucket == "" {
		return s, fmt.Errorf("set %s, %s and %s (every request is recorded there)", envvar.GlueDatabase, envvar.AthenaWorkGroup, envvar.AuditBucket)
	}
	switch v := strings.TrimSpace(getenv(envvar.AthenaResultReuseMinutes)); v {
	case "":
	case "0", "off":
		s.athena.ReuseMaxAge = -1
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 7*24*60 {
			return s, fmt.Errorf("%s=%q: give minutes from 1 to 10080, or 0 to switch result reuse off", envvar.AthenaResultReuseMinutes, v)
		}
		s.athena.ReuseMaxAge = time.Duration(n) * time.Minute
	}
	if v := strings.TrimSpace(getenv(envvar.EraseGrace)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return s, fmt.Errorf("%s=%q: give a duration such as 0s, 15m or 24h", envvar.EraseGrace, v)
		}
		s.eraseGrace = d
	}
	switch v := strings.ToLower(getenv(envvar.RawSQL)); v {
	case "", "false", "0", "off":
	case "true", "1", "on":
		s.rawSQL = true
	default:
		return s, fmt.Errorf("%s=%q: give true or false", envvar.RawSQL, v)
	}
	return s, nil
}

// zoneProbe answers whether the curated zone holds a dataset yet, which decides the default
// zone. Once it does it always will; a "no" is asked again after a minute.
type zoneProbe struct {
	s3     lister
	bucket string
	mu     sync.Mutex
	yes    map[string]bool
	no     map[string]time.Time
}

type lister interface {
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

func newZoneProbe(c lister, curatedBucket string) *zoneProbe {
	return &zoneProbe{s3: c, bucket: curatedBucket, yes: map[string]bool{}, no: map[string]time.Time{}}
}

func (p *zoneProbe) hasData(z zone.Zone, dataset string) bool {
	if z != zone.Curated {
		return true
	}
	if p.bucket == "" {
		return true // no bucket configured: assume curated, as in a deployment with promotion
	}
	p.mu.Lock()
	if p.yes[dataset] || time.Since(p.no[dataset]) < time.Minute {
		yes := p.yes[dataset]
		p.mu.Unlock()
		return yes
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	// Data files, not the table's metadata: a table is made before its first data lands.
	out, err := p.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(p.bucket), Prefix: aws.String(dataset + "/" + zone.TableData + "/"), MaxKeys: aws.Int32(1)})
	if err != nil {
		return true // cannot tell: the documented default
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(out.Contents) > 0 {
		p.yes[dataset] = true
		return true
	}
	p.no[dataset] = time.Now()
	return false
}
