// Command fail returns an error for every event; with EXIT_AT_INIT set it exits before starting.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

type validationError struct{ msg string }

func (e validationError) Error() string { return e.msg }

func main() {
	if os.Getenv("EXIT_AT_INIT") != "" {
		fmt.Fprintln(os.Stderr, "missing configuration")
		os.Exit(3)
	}
	lambda.Start(func(ctx context.Context, event json.RawMessage) (string, error) {
		return "", validationError{msg: "rejected " + string(event)}
	})
}
