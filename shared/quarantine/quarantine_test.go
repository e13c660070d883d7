package quarantine_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/sluicelake/sluice/shared/quarantine"
)

func TestEncodeDecodeKeepsOriginalBytes(t *testing.T) {
	entries := []quarantine.Entry{
		{Reason: "invalid_utf8", Field: "user_id", Detail: "a string is not UTF-8", Dataset: "user_events",
			Source:   quarantine.Source{Kind: "kinesis", Stream: "s", Shard: "shardId-0", Sequence: "1", Arrival: time.Unix(1, 0).UTC()},
			Original: []byte("{\"user_id\":\"\xff\"}")},
		{Reason: "empty_record", Detail: "nothing", Source: quarantine.Source{Kind: "s3", Bucket: "raw", Key: "landing/x.csv", Line: 7}, Original: []byte{}},
	}
	entries[0].Preview = quarantine.PreviewOf(entries[0].Original)
	b, err := quarantine.Encode(entries)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := quarantine.Encode(entries)
	if !bytes.Equal(b, again) {
		t.Error("encoding is not deterministic")
	}
	got, err := quarantine.Decode(bytes.NewReader(b))
	if err != nil || len(got) != 2 {
		t.Fatalf("%v, %d entries", err, len(got))
	}
	if !bytes.Equal(got[0].Original, entries[0].Original) || got[0].Preview != "" || got[0].Source.Sequence != "1" {
		t.Errorf("first entry: %+v", got[0])
	}
	if got[1].Source.Line != 7 || got[1].Reason != "empty_record" {
		t.Errorf("second entry: %+v", got[1])
	}
}

func TestPreviewCutsWholeCharacters(t *testing.T) {
	long := bytes.Repeat([]byte("é"), 200) // 400 bytes
	p := quarantine.PreviewOf(long)
	if len(p) > 256 || len(p)%2 != 0 {
		t.Errorf("preview of %d bytes cuts a character", len(p))
	}
}
