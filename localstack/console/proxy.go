package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxBody bounds a request body the proxy forwards: API Gateway's own limit.
const maxBody = 10 << 20

// Doer sends a request: an *http.Client, or the AWS SDK's (which honours AWS_CA_BUNDLE).
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Sign signs a request for the API (SigV4 for execute-api), given its body.
type Sign func(r *http.Request, body []byte) error

// Proxy serves the console under Path and forwards every other request to the API at target
// (its path, an API Gateway stage say, is kept as a prefix), signed with sign, so that the
// browser holds no AWS keys. Only the request's method, path, query, body and Content-Type go
// on: no cookies and no Authorization from the browser.
//
// A signing proxy on localhost would sign for any web page the user has open, so requests
// from anywhere but the console's own origin are refused: a Host other than addr (a DNS
// rebinding), an Origin other than http://addr, or a Sec-Fetch-Site other than same-origin or
// none (the user typing the address).
func Proxy(addr string, target *url.URL, sign Sign, client Doer) http.Handler {
	if client == nil {
		client = http.DefaultClient
	}
	own := "http://" + addr
	mux := http.NewServeMux()
	for pattern, h := range Routes() {
		mux.Handle(pattern, h)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			http.Redirect(w, r, Path, http.StatusFound)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			fail(w, http.StatusBadRequest, "read the request body: %v", err)
			return
		}
		if len(body) > maxBody {
			fail(w, http.StatusRequestEntityTooLarge, "the request body is over %d bytes, API Gateway's limit", maxBody)
			return
		}
		u := *target
		u.Path = strings.TrimSuffix(target.Path, "/") + r.URL.Path
		u.RawPath = ""
		u.RawQuery = r.URL.RawQuery
		out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), bytes.NewReader(body))
		if err != nil {
			fail(w, http.StatusBadRequest, "%v", err)
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "" {
			out.Header.Set("Content-Type", ct)
		}
		if err := sign(out, body); err != nil {
			fail(w, http.StatusBadGateway, "the proxy could not sign the request: %v. Configure AWS credentials for this shell (aws configure, AWS_PROFILE or AWS_ACCESS_KEY_ID) and restart make console", err)
			return
		}
		resp, err := client.Do(out)
		if err != nil {
			fail(w, http.StatusBadGateway, "the API at %s cannot be reached: %v", target.Host, err)
			return
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch site := r.Header.Get("Sec-Fetch-Site"); {
		case r.Host != addr:
			fail(w, http.StatusForbidden, "the console proxy answers requests for %s only, not for host %q", addr, r.Host)
		case r.Header.Get("Origin") != "" && r.Header.Get("Origin") != own:
			fail(w, http.StatusForbidden, "the console proxy signs requests from its own page (%s) only, not from %q", own, r.Header.Get("Origin"))
		case site != "" && site != "same-origin" && site != "none":
			fail(w, http.StatusForbidden, "the console proxy signs requests from its own page only (Sec-Fetch-Site %q)", site)
		default:
			mux.ServeHTTP(w, r)
		}
	})
}

func fail(w http.ResponseWriter, status int, format string, a ...any) {
	b, _ := json.Marshal(map[string]string{"error": fmt.Sprintf(format, a...)})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}
