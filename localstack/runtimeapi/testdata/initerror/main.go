// Command initerror is a runtime that fails its initialisation the way the Runtime API asks:
// it posts to /runtime/init/error, then exits.
package main

import (
	"net/http"
	"os"
	"strings"
)

func main() {
	body := `{"errorMessage":"TABLE_NAME is not set","errorType":"Runtime.ConfigError"}`
	resp, err := http.Post("http://"+os.Getenv("AWS_LAMBDA_RUNTIME_API")+"/2018-06-01/runtime/init/error",
		"application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusAccepted {
		os.Exit(2)
	}
	os.Exit(1)
}
