// Command echo answers with its event and what the runtime told it about the invocation.
package main

import (
	"context"
	"encoding/json"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type reply struct {
	Event       json.RawMessage   `json:"event"`
	RequestID   string            `json:"requestId"`
	FunctionARN string            `json:"functionArn"`
	DeadlineMs  int64             `json:"deadlineMs"`
	TraceID     string            `json:"traceId"`
	Env         map[string]string `json:"env"`
	PID         int               `json:"pid"`
}

func main() {
	lambda.Start(func(ctx context.Context, event json.RawMessage) (reply, error) {
		lc, _ := lambdacontext.FromContext(ctx)
		deadline, _ := ctx.Deadline()
		env := map[string]string{}
		for _, k := range []string{"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_REGION", "_HANDLER", "SLUICE_TEST"} {
			env[k] = os.Getenv(k)
		}
		trace, _ := ctx.Value("x-amzn-trace-id").(string)
		return reply{
			Event:       event,
			RequestID:   lc.AwsRequestID,
			FunctionARN: lc.InvokedFunctionArn,
			DeadlineMs:  deadline.Round(time.Millisecond).UnixMilli(),
			TraceID:     trace,
			Env:         env,
			PID:         os.Getpid(),
		}, nil
	})
}
