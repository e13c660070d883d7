package main

import (
	"context"
	"encoding/base64"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sluicelake/sluice/shared/collect"
)

// handler adapts API Gateway HTTP API (payload 2.0) events to the ingestion API.
type handler struct{ svc *collect.Service }

func newHandler(svc *collect.Service) *handler { return &handler{svc: svc} }

func (h *handler) handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return respond(collect.Response{Status: 400, Body: []byte(`{"FailedRecordCount":0,"Records":[],"Error":"the body is marked base64 but does not decode"}`)}), nil
		}
		body = b
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	return respond(h.svc.Serve(ctx, collect.Request{Method: ev.RequestContext.HTTP.Method, Path: path, Body: body})), nil
}

func respond(r collect.Response) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{
		StatusCode: r.Status,
		Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
		Body:       string(r.Body),
	}
}
