package lake_test

import (
	"strings"
	"testing"

	"github.com/sluicelake/sluice/shared/archive"
)

// The delivery stream is configured from the archive's shared definitions, which the local
// Firehose runs: the Hive JSON SerDe with the timestamp formats generated from the contract's
// forms (OpenX read only UTC times, so records with an offset failed conversion), the partition
// query, the prefixes.
func TestFirehoseDeserializerIsGenerated(t *testing.T) {
	s := defaultSynth(t)
	fh := s.one(t, "AWS::KinesisFirehose::DeliveryStream", "ArchiveDeliveryStream")
	d := prop(fh, "ExtendedS3DestinationConfiguration").(map[string]interface{})
	conv := map[string]interface{}{"Properties": d["DataFormatConversionConfiguration"]}
	ue := shipped(t)[0]
	for _, c := range shipped(t) {
		if c.Name == "user_events" {
			ue = c
		}
	}
	want, err := archive.TimestampFormats(&ue.Fields[ue.EventTime])
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := toJSON(map[string]interface{}{"HiveJsonSerDe": map[string]interface{}{"TimestampFormats": want}})
	if got := toJSON(prop(conv, "InputFormatConfiguration", "Deserializer")); got != wantJSON {
		t.Errorf("deserializer %s, want %s", got, wantJSON)
	}
	if d["Prefix"] != archive.Prefix(ue.Name) || d["ErrorOutputPrefix"] != archive.ErrorOutputPrefix {
		t.Errorf("prefixes %v and %v, want the archive's", d["Prefix"], d["ErrorOutputPrefix"])
	}
	params := toJSON(prop(map[string]interface{}{"Properties": d["ProcessingConfiguration"]}, "Processors"))
	if want := toJSON(archive.PartitionQuery(ue)); !strings.Contains(params, want[1:len(want)-1]) {
		t.Errorf("processors %s lack the archive's partition query", params)
	}
}
