package esm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// record is one stream record, encoded once as its element of the event's Records array.
type record struct {
	seq     string
	arrival time.Time
	json    []byte
}

// eventRecord is one element of the Kinesis event Lambda sends, field for field and in the order
// the AWS documentation shows.
type eventRecord struct {
	Kinesis           kinesisData `json:"kinesis"`
	EventSource       string      `json:"eventSource"`
	EventVersion      string      `json:"eventVersion"`
	EventID           string      `json:"eventID"`
	EventName         string      `json:"eventName"`
	InvokeIdentityArn string      `json:"invokeIdentityArn"`
	AwsRegion         string      `json:"awsRegion"`
	EventSourceARN    string      `json:"eventSourceARN"`
}

type kinesisData struct {
	KinesisSchemaVersion        string       `json:"kinesisSchemaVersion"`
	PartitionKey                string       `json:"partitionKey"`
	SequenceNumber              string       `json:"sequenceNumber"`
	Data                        []byte       `json:"data"`
	ApproximateArrivalTimestamp epochSeconds `json:"approximateArrivalTimestamp"`
	EncryptionType              string       `json:"encryptionType,omitempty"`
}

// epochSeconds is a time as Lambda writes it in Kinesis events: Unix seconds with milliseconds
// as a fraction, e.g. 1545084650.987.
type epochSeconds time.Time

func (e epochSeconds) MarshalJSON() ([]byte, error) {
	ms := time.Time(e).UnixMilli()
	return fmt.Appendf(nil, "%d.%03d", ms/1000, ms%1000), nil
}

// source is what every record of one shard's events shares.
type source struct {
	shardID           string
	streamARN         string
	region            string
	invokeIdentityArn string
}

func (s source) encode(r types.Record) (record, error) {
	seq := aws.ToString(r.SequenceNumber)
	arrival := aws.ToTime(r.ApproximateArrivalTimestamp)
	enc := ""
	if r.EncryptionType == types.EncryptionTypeKms {
		enc = string(types.EncryptionTypeKms)
	}
	b, err := json.Marshal(eventRecord{
		Kinesis: kinesisData{
			KinesisSchemaVersion:        "1.0",
			PartitionKey:                aws.ToString(r.PartitionKey),
			SequenceNumber:              seq,
			Data:                        r.Data,
			ApproximateArrivalTimestamp: epochSeconds(arrival),
			EncryptionType:              enc,
		},
		EventSource:       "aws:kinesis",
		EventVersion:      "1.0",
		EventID:           s.shardID + ":" + seq,
		EventName:         "aws:kinesis:record",
		InvokeIdentityArn: s.invokeIdentityArn,
		AwsRegion:         s.region,
		EventSourceARN:    s.streamARN,
	})
	if err != nil {
		return record{}, fmt.Errorf("encoding record %s: %w", seq, err)
	}
	return record{seq: seq, arrival: arrival, json: b}, nil
}

const (
	eventPrefix = `{"Records":[`
	eventSuffix = `]}`
)

// eventSize is the size of the event holding recs.
func eventSize(recs []record) int {
	n := len(eventPrefix) + len(eventSuffix)
	for i, r := range recs {
		if i > 0 {
			n++
		}
		n += len(r.json)
	}
	return n
}

func buildEvent(recs []record) []byte {
	var b bytes.Buffer
	b.Grow(eventSize(recs))
	b.WriteString(eventPrefix)
	for i, r := range recs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(r.json)
	}
	b.WriteString(eventSuffix)
	return b.Bytes()
}

// regionOf reads the region out of an ARN (arn:aws:kinesis:<region>:<account>:stream/<name>).
func regionOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[3]
}

// accountOf reads the account out of an ARN, defaulting to the local stand-ins' account.
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[4] == "" {
		return "000000000000"
	}
	return parts[4]
}
