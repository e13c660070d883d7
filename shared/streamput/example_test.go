package streamput_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/sluicelake/sluice/shared/streamput"
)

// memStream keeps records in memory; in real use, pass a *kinesis.Client.
type memStream struct{ records [][]byte }

func (m *memStream) PutRecords(_ context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	out := &kinesis.PutRecordsOutput{FailedRecordCount: aws.Int32(0)}
	for _, r := range in.Records {
		m.records = append(m.records, r.Data)
		out.Records = append(out.Records, types.PutRecordsResultEntry{SequenceNumber: aws.String(fmt.Sprint(len(m.records)))})
	}
	return out, nil
}

func ExampleWriter() {
	ctx := context.Background()
	stream := &memStream{}
	w, err := streamput.New(stream, streamput.Config{StreamName: "sluice-events"})
	if err != nil {
		panic(err)
	}
	for i := 0; i < 1200; i++ {
		data := fmt.Sprintf(`{"_dataset":"user_events","n":%d}`, i)
		if err := w.Put(ctx, streamput.Entry{Data: []byte(data), PartitionKey: fmt.Sprint(i)}); err != nil {
			panic(err) // a record over Kinesis's limits, or a call that failed outright
		}
	}
	if err := w.Flush(ctx); err != nil {
		panic(err)
	}
	s := w.Stats()
	fmt.Printf("sent %d in %d calls, failed %d\n", s.Sent, s.Calls, s.Failed)
	// Output: sent 1200 in 3 calls, failed 0
}
