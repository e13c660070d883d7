// Command poison fails a batch with a function error if any record's data is "poison"; otherwise
// it appends each record's data to $LOG_FILE, one a line.
package main

import (
	"context"
	"errors"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, ev events.KinesisEvent) error {
		for _, r := range ev.Records {
			if string(r.Kinesis.Data) == "poison" {
				return errors.New("poison record " + r.Kinesis.SequenceNumber)
			}
		}
		f, err := os.OpenFile(os.Getenv("LOG_FILE"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		for _, r := range ev.Records {
			if _, err := f.Write(append(r.Kinesis.Data, '\n')); err != nil {
				return err
			}
		}
		return nil
	})
}
