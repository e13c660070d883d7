// Package console is the lake's web console: a page (embedded here, no third-party code, no
// CDN) over the lake's own HTTP API: the catalog (GET /datasets), the lineage drawing (GET
// /lineage?format=svg) and queries (POST /queries). It is served at /console/ beside the API,
// so the browser talks to one origin only:
//
//   - locally, by `make local`, on the query API's address;
//   - against a deployed lake, by Proxy (`make console URL=<ApiUrl>`), which signs every API
//     call with the user's AWS credentials on this machine, so the browser never holds keys.
package console

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Path is where the console is served.
const Path = "/console/"

// csp lets the page load only what this host serves: no inline scripts or style sheets, no
// other origins (a CDN, a tracker), no frames.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// Handler serves the console's files under Path (and redirects /console to it).
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded folder is part of the build
	}
	files := http.StripPrefix(Path, http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/console" {
			http.Redirect(w, r, Path, http.StatusMovedPermanently)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the console's files are read with GET", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

// Routes are the console's routes for an http.ServeMux, by pattern.
func Routes() map[string]http.Handler {
	h := Handler()
	return map[string]http.Handler{"/console": h, Path: h}
}
