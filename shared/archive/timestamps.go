package archive

import (
	"fmt"

	"github.com/sluicelake/sluice/shared/record"
)

// TimestampFormats are the deserializer's timestamp formats (the Hive JSON SerDe's
// TimestampFormats, Joda-Time DateTimeFormat patterns), generated from the event-time forms the
// contract accepts (record.TimestampForms), so that Firehose reads every event time the
// contract reads, as the same instant. The OpenX SerDe cannot be used: it reads only UTC
// timestamps ("...Z"), so records carrying an offset would end under the error prefix.
//
// How Joda parses the patterns generated here (the Hive SerDe tries every pattern and keeps the
// longest match): literals, 'T' included, match either case; "ZZ" reads "Z" (either case) or
// ±hh:mm; "SSSSSSSSS" reads one to nine digits as a fraction of a second (kept to the
// millisecond, as the contract keeps it). It fails for a form no pattern can express.
func TimestampFormats() ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, f := range record.TimestampForms() {
		p, err := jodaPattern(f)
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

func jodaPattern(f record.TimestampForm) (string, error) {
	p := "yyyy-MM-dd"
	switch f.Separator {
	case 'T', 't':
		p += "'T'"
	case ' ':
		p += " "
	default:
		return "", fmt.Errorf("archive: timestamp form %v: no Joda pattern for separator %q", f, f.Separator)
	}
	p += "HH:mm:ss"
	switch {
	case f.FractionDigits == 0:
	case f.FractionDigits <= record.MaxFractionDigits:
		p += ".SSSSSSSSS"
	default:
		return "", fmt.Errorf("archive: timestamp form %v: Joda reads at most %d fraction digits", f, record.MaxFractionDigits)
	}
	switch f.Zone {
	case record.ZoneUTC, record.ZoneOffset:
		p += "ZZ"
	default:
		// A zone-less time is read in the deserializer's own zone (UTC): a contract that reads
		// it in another zone cannot be archived faithfully by this deserializer.
		return "", fmt.Errorf("archive: timestamp form %v: the Firehose deserializer cannot read this zone form; convert such times in the producer or archive them unconverted", f)
	}
	return p, nil
}
