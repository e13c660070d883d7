// Package apigw stands in for an API Gateway HTTP API route with a Lambda proxy integration on
// the local host: it turns an HTTP request into a payload format 2.0 event, invokes the built
// function through the Lambda Runtime API (localstack/runtimeapi), and turns the function's
// answer back into the HTTP response, with API Gateway's own answers where it would give them.
package apigw

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sluicelake/sluice/localstack/runtimeapi"
)

// The limits a request meets before the function sees it.
const (
	// MaxBody is API Gateway's payload limit for HTTP APIs (10 MB), which it answers with 413.
	MaxBody = 10 << 20
	// MaxInvokePayload is Lambda's limit on a synchronous invocation's payload (the whole event,
	// body included): 6 MB. A request under MaxBody can still break it once it is an event.
	MaxInvokePayload = 6 << 20
)

// Invoker runs a function on an event; *runtimeapi.Function is one.
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) (runtimeapi.Result, error)
}

// Route serves requests to one function, as `ANY <route>` with a Lambda proxy integration.
type Route struct {
	Fn Invoker
	// RouteKey is what the event's routeKey says, e.g. "POST /events/{dataset}".
	RouteKey string
	// Stage is the stage name; default "$default".
	Stage string
}

func (rt Route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		gatewayError(w, http.StatusBadRequest, "Bad Request")
		return
	}
	if len(body) > MaxBody {
		gatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	payload, err := json.Marshal(Event(r, body, rt.RouteKey, rt.Stage))
	if err != nil {
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	if len(payload) > MaxInvokePayload {
		// Lambda refuses the invocation (RequestEntityTooLargeException); say why, as the
		// deployed API's caller would have to find out from the function's limits.
		gatewayError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("Request Entity Too Large: the event is %d bytes, over Lambda's %d for a synchronous invocation", len(payload), MaxInvokePayload))
		return
	}
	res, err := rt.Fn.Invoke(r.Context(), payload)
	if err != nil || res.FunctionError != nil {
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(res.Payload, &resp); err != nil || resp.StatusCode == 0 {
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	out := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if out, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(out)
}

// Event is the payload format 2.0 event API Gateway gives a Lambda proxy integration for r.
// A body that is not UTF-8 text goes base64-encoded, as API Gateway sends binary bodies.
func Event(r *http.Request, body []byte, routeKey, stage string) events.APIGatewayV2HTTPRequest {
	if stage == "" {
		stage = "$default"
	}
	now := time.Now()
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: routeKey, RawPath: r.URL.Path, RawQueryString: r.URL.RawQuery,
		Headers: map[string]string{},
	}
	for k, v := range r.Header {
		ev.Headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	if q := r.URL.Query(); len(q) > 0 {
		ev.QueryStringParameters = map[string]string{}
		for k, v := range q {
			ev.QueryStringParameters[k] = strings.Join(v, ",")
		}
	}
	if utf8.Valid(body) {
		ev.Body = string(body)
	} else {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	ev.RequestContext = events.APIGatewayV2HTTPRequestContext{
		RouteKey: routeKey, Stage: stage, DomainName: r.Host, RequestID: fmt.Sprintf("local-%d", now.UnixNano()),
		Time: now.UTC().Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
		HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
			Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: strings.Split(r.RemoteAddr, ":")[0], UserAgent: r.UserAgent(),
		},
	}
	// API Gateway's IAM authorizer names the principal whose signature it verified. The local
	// host has no IAM: a caller names itself in a header, as the local query API takes it.
	if arn := r.Header.Get("X-Sluice-Caller"); arn != "" {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: arn},
		}
	}
	return ev
}

// gatewayError answers as API Gateway does when it, not the function, answers.
func gatewayError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"message": message})
	w.Write(b)
}
