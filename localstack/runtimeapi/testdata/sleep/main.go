// Command sleep waits for {"ms": n} milliseconds, ignoring its deadline, then answers "slept".
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, event struct{ Ms int }) (string, error) {
		time.Sleep(time.Duration(event.Ms) * time.Millisecond)
		return "slept", nil
	})
}
