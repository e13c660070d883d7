package archive

import (
	"fmt"
	"time"

	"github.com/sluicelake/sluice/shared/contract"
)

// TimestampFormats are the deserializer's timestamp formats (the Hive JSON SerDe's
// TimestampFormats, Joda-Time DateTimeFormat patterns), generated from the forms the event-time
// field accepts (contract.Field.TimestampForms), so that Firehose reads every event time the
// contract reads, as the same instant. The OpenX SerDe cannot be used: it reads only UTC
// timestamps ("...Z"), so records carrying an offset would end under the error prefix.
//
// How Joda parses the patterns generated here (the Hive SerDe tries every pattern and keeps the
// longest match): literals, 'T' included, match either case; "ZZ" reads "Z" (either case) or
// ±hh:mm; "SSSSSSSSS" reads one to nine digits as a fraction of a second (kept to the
// millisecond, as the contract keeps it); a pattern without a zone reads the time in UTC. It
// fails for a form no pattern can express: a time without a zone that the contract reads in a
// zone other than UTC.
func TimestampFormats(f *contract.Field) ([]string, error) {
	forms := f.TimestampForms()
	if forms == nil {
		return nil, fmt.Errorf("archive: field %q is not a timestamp: the deserializer's formats come from the event-time field", f.Name)
	}
	var out []string
	seen := map[string]bool{}
	for _, form := range forms {
		p, err := jodaPattern(f, form)
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

func jodaPattern(f *contract.Field, form contract.TimestampForm) (string, error) {
	p := "yyyy-MM-dd"
	switch form.Separator {
	case 'T', 't':
		p += "'T'"
	case ' ':
		p += " "
	default:
		return "", fmt.Errorf("archive: field %q, timestamp form %s: no Joda pattern for separator %q", f.Name, form.Example(), form.Separator)
	}
	p += "HH:mm:ss"
	switch {
	case form.Fraction == 0:
	case form.Fraction <= contract.MaxFraction:
		p += ".SSSSSSSSS"
	default:
		return "", fmt.Errorf("archive: field %q, timestamp form %s: Joda reads at most %d fraction digits", f.Name, form.Example(), contract.MaxFraction)
	}
	switch form.Zone {
	case contract.ZoneZ, contract.ZoneLowerZ, contract.ZoneOffset:
		p += "ZZ"
	case contract.ZoneNone:
		// A zone-less time is read in the deserializer's own zone, UTC: a contract that reads
		// it in another zone cannot be archived faithfully by this deserializer.
		if f.WithoutZone != time.UTC && (f.WithoutZone == nil || f.WithoutZone.String() != "UTC") {
			return "", fmt.Errorf("archive: field %q reads times without a zone in %v, but Firehose's deserializer reads them in UTC: use \"UTC\" in %s, or have the producer send a zone", f.Name, f.WithoutZone, contract.ZoneAttr)
		}
	default:
		return "", fmt.Errorf("archive: field %q, timestamp form %s: the Firehose deserializer cannot read this zone form", f.Name, form.Example())
	}
	return p, nil
}
