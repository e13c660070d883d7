// Command panic panics on every event, which makes the runtime post the error and exit.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, event json.RawMessage) (string, error) {
		panic("handler panicked on " + string(event))
	})
}
