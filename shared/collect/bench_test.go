package collect_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/sluicelake/sluice/localstack/kinesislocal"
	"github.com/sluicelake/sluice/shared/collect"
	"github.com/sluicelake/sluice/shared/streamput"
)

// sink accepts every record without keeping it: the benchmark's measure of collect's own cost
// (split, validate, route, answer), apart from any stream's.
type sink struct{}

func (sink) PutRecords(_ context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	out := &kinesis.PutRecordsOutput{FailedRecordCount: aws.Int32(0), Records: make([]types.PutRecordsResultEntry, len(in.Records))}
	for i := range out.Records {
		out.Records[i] = types.PutRecordsResultEntry{SequenceNumber: aws.String(fmt.Sprint(i)), ShardId: aws.String("shardId-000000000000")}
	}
	return out, nil
}

func benchBody() []byte {
	var b strings.Builder
	for i := 0; i < collect.MaxRecords; i++ {
		b.WriteString(userEvent(i))
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

func benchServe(b *testing.B, api streamput.API) {
	s := service(b, api, nil, "sluice-events")
	body := benchBody()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp := s.Serve(context.Background(), collect.Request{Method: "POST", Path: "/events/user_events", Body: body})
		if resp.Status != 200 || strings.Contains(string(resp.Body), "ErrorCode") {
			b.Fatalf("%d %s", resp.Status, resp.Body[:200])
		}
	}
	b.ReportMetric(float64(b.N*collect.MaxRecords)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkServe is collect's own work on a call of 500 records.
func BenchmarkServe(b *testing.B) { benchServe(b, sink{}) }

// BenchmarkServeKinesisLocal adds PutRecords to kinesis-local.
func BenchmarkServeKinesisLocal(b *testing.B) {
	srv := kinesislocal.ForTest(b)
	client := srv.Client()
	if err := kinesislocal.CreateStream(context.Background(), client, "sluice-events", 2); err != nil {
		b.Fatal(err)
	}
	benchServe(b, client)
}
