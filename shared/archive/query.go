package archive

import (
	"fmt"
	"strings"

	"github.com/sluicelake/sluice/shared/contract"
)

// JQEngine is the jq version Firehose runs the partition query with.
const JQEngine = "JQ-1.6"

// PartitionQuery is the jq program Firehose runs on each record to find its dt and hr partition:
// the UTC date and hour of the contract's event time, an RFC 3339 string with any zone offset.
// Records missing a required field of the contract fail it, so records of other datasets do not
// become rows of nulls, and so do times that name no real day or time: Firehose writes them,
// unconverted, under the error prefix.
func PartitionQuery(c *contract.Contract) string {
	var required []string
	for _, f := range c.Fields {
		if !f.Nullable {
			required = append(required, fmt.Sprintf(".%q", f.Name))
		}
	}
	f := &c.Fields[c.EventTime]
	et := fmt.Sprintf(".%q", f.Name)
	// A time without a zone is read in UTC when the contract says so (the only zone jq can apply
	// without a zone database; TimestampFormats refuses any other), else it is an error.
	zone, naive := `(?<z>[Zz]|[+-][0-9]{2}:[0-9]{2})`, `error("the event time has no zone")`
	if f.WithoutZone != nil && f.WithoutZone.String() == "UTC" {
		zone, naive = zone+"?", "0"
	}
	return fmt.Sprintf(`if ([%s] | all(. != null)) then `+
		`([%s | capture("^(?<d>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ](?<t>[0-9]{2}:[0-9]{2}:[0-9]{2})(\\.[0-9]{1,9})?%s$")] | `+
		`if length == 1 then .[0] else error("the event time is not an RFC 3339 timestamp") end) as $c | `+
		// fromdateiso8601 rolls a day or time that does not exist (2026-02-30) into the next
		// month rather than failing: printing the instant back and comparing catches it.
		`($c.d + "T" + $c.t + "Z") as $utc | ($utc | fromdateiso8601) as $e | `+
		`if ($e | todate) != $utc then error("the event time names no such day or time") else $e end - `+
		`(if ($c.z // "") == "" then %s elif ($c.z | ascii_upcase) == "Z" then 0 else ((($c.z[1:3] | tonumber) * 60 + ($c.z[4:6] | tonumber)) * 60 * (if $c.z[0:1] == "-" then -1 else 1 end)) end) | `+
		`{dt: strftime("%%Y-%%m-%%d"), hr: strftime("%%H")} `+
		`else error("not a %s record: a required field is missing") end`,
		strings.Join(required, ", "), et, zone, naive, c.Name)
}
