// Command placeholder stands in for a function whose code has not been written yet, so that the
// stack is complete: it answers every invocation with an error, which the function's alarms and
// dead-letter queue then report. The CDK app deploys it for any functions/<name>/ without Go files.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	name := os.Getenv("AWS_LAMBDA_FUNCTION_NAME")
	lambda.Start(func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return nil, fmt.Errorf("%s: not implemented yet: this is the sluice placeholder; deploy again once functions/<name>/ has its code", name)
	})
}
