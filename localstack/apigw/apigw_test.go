package apigw

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/localstack/runtimeapi"
)

// unreachable fails the test if a request gets past the gateway's limits to the function.
type unreachable struct{ t *testing.T }

func (u unreachable) Invoke(context.Context, []byte) (runtimeapi.Result, error) {
	u.t.Error("the function was invoked")
	return runtimeapi.Result{}, nil
}

func TestLimitsAnswerBeforeTheFunction(t *testing.T) {
	rt := Route{Fn: unreachable{t}, RouteKey: "POST /events/{dataset}"}
	for _, c := range []struct {
		size int
		says string
	}{
		{MaxBody + 1, `"Request Entity Too Large"`},
		// Under API Gateway's 10 MB, over Lambda's 6 MB once it is an event.
		{MaxInvokePayload, "over Lambda's 6291456"},
	} {
		rec := httptest.NewRecorder()
		rt.ServeHTTP(rec, httptest.NewRequest("POST", "/events/user_events", bytes.NewReader(bytes.Repeat([]byte("x"), c.size))))
		if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), c.says) {
			t.Errorf("%d bytes: %d %s", c.size, rec.Code, rec.Body)
		}
	}
}

func TestEventCarriesTheRequest(t *testing.T) {
	r := httptest.NewRequest("POST", "/events/user_events?x=1", nil)
	r.Header.Set("Content-Type", "application/x-ndjson")
	ev := Event(r, []byte("{\"a\":1}\n"), "POST /events/{dataset}", "")
	if ev.Version != "2.0" || ev.RawPath != "/events/user_events" || ev.RequestContext.HTTP.Method != "POST" ||
		ev.Headers["content-type"] != "application/x-ndjson" || ev.QueryStringParameters["x"] != "1" || ev.IsBase64Encoded || ev.RequestContext.Stage != "$default" {
		t.Errorf("event %+v", ev)
	}
	if ev := Event(r, []byte{0x1f, 0x8b, 0xff}, "", ""); !ev.IsBase64Encoded || ev.Body != "H4v/" {
		t.Errorf("binary body %q base64 %v", ev.Body, ev.IsBase64Encoded)
	}
}
