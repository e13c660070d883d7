// Command reject fails every batch with a function error.
package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, ev events.KinesisEvent) error {
		if len(ev.Records) == 0 {
			return errors.New("empty event")
		}
		return fmt.Errorf("cannot handle %d records", len(ev.Records))
	})
}
