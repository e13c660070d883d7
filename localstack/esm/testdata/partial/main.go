// Command partial logs every record it gets to $LOG_FILE and reports the record whose data is
// $FAIL_DATA as a batch item failure the first time it sees it (remembered in $FAIL_DATA_MARKER).
package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type line struct {
	Req    string  `json:"req"`
	Shard  string  `json:"shard"`
	Seq    string  `json:"seq"`
	Data   string  `json:"data"`
	Key    string  `json:"key"`
	Source string  `json:"source"`
	Region string  `json:"region"`
	Role   string  `json:"role"`
	Name   string  `json:"name"`
	Arrive float64 `json:"arrive"`
}

func main() {
	lambda.Start(func(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
		lc, _ := lambdacontext.FromContext(ctx)
		f, err := os.OpenFile(os.Getenv("LOG_FILE"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return events.KinesisEventResponse{}, err
		}
		defer f.Close()
		enc := json.NewEncoder(f)
		var resp events.KinesisEventResponse
		for _, r := range ev.Records {
			shard, _, _ := strings.Cut(r.EventID, ":")
			if err := enc.Encode(line{
				Req: lc.AwsRequestID, Shard: shard, Seq: r.Kinesis.SequenceNumber, Data: string(r.Kinesis.Data),
				Key: r.Kinesis.PartitionKey, Source: r.EventSourceArn, Region: r.AwsRegion, Role: r.InvokeIdentityArn,
				Name: r.EventName, Arrive: float64(r.Kinesis.ApproximateArrivalTimestamp.Round(time.Millisecond).UnixMilli()) / 1000,
			}); err != nil {
				return resp, err
			}
			if fail := os.Getenv("FAIL_DATA"); fail != "" && string(r.Kinesis.Data) == fail {
				marker := os.Getenv("FAIL_DATA_MARKER")
				if _, err := os.Stat(marker); os.IsNotExist(err) {
					if err := os.WriteFile(marker, nil, 0o644); err != nil {
						return resp, err
					}
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.KinesisBatchItemFailure{ItemIdentifier: r.Kinesis.SequenceNumber})
				}
			}
		}
		return resp, nil
	})
}
