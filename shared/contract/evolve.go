package contract

import (
	"fmt"

	"github.com/hamba/avro/v2"
)

// CheckEvolution reports whether next may replace prev as a dataset's contract.
//
// Files written under prev stay in the lake and are read through tables built from next, so next
// must be able to read what prev wrote (Avro backward compatibility: fields may be added only as
// optional with a null default, enum symbols may be added, not removed, types may only widen).
// On top of Avro's rules, partitioning and deduplication must not move: the event-time field and
// the key stay the same, and a field keeps its Glue column type.
func CheckEvolution(prev, next *Contract) error {
	if prev.Name != next.Name {
		return fmt.Errorf("%s: the dataset is renamed from %q to %q: add a new contract instead", next.Path, prev.Name, next.Name)
	}
	if err := avro.NewSchemaCompatibility().Compatible(next.Schema, prev.Schema); err != nil {
		return fmt.Errorf("%s: cannot read data written under the previous contract: %w", next.Path, err)
	}
	if prev.Fields[prev.EventTime].Name != next.Fields[next.EventTime].Name {
		return fmt.Errorf("%s: sluice.eventTime moves from %q to %q: partitions of existing data would no longer match",
			next.Path, prev.Fields[prev.EventTime].Name, next.Fields[next.EventTime].Name)
	}
	if fmt.Sprint(keyNames(prev)) != fmt.Sprint(keyNames(next)) {
		return fmt.Errorf("%s: sluice.key changes from %v to %v: curated deduplication would split or merge existing records",
			next.Path, keyNames(prev), keyNames(next))
	}
	for _, pf := range prev.Fields {
		nf, ok := next.Field(pf.Name)
		if !ok {
			continue // a dropped column stays readable in old files; the table just stops showing it
		}
		if pf.GlueType() != nf.GlueType() {
			return fmt.Errorf("%s: field %q changes its column type from %s to %s: Athena cannot read old files that way; add a new field instead",
				next.Path, pf.Name, pf.GlueType(), nf.GlueType())
		}
		if pf.Nullable && !nf.Nullable {
			return fmt.Errorf("%s: field %q becomes required: existing rows may hold nulls", next.Path, pf.Name)
		}
	}
	for _, nf := range next.Fields {
		if _, ok := prev.Field(nf.Name); !ok && !nf.Nullable {
			return fmt.Errorf("%s: new field %q must be optional ([\"null\", T] with default null): old rows do not have it", next.Path, nf.Name)
		}
	}
	return nil
}

func keyNames(c *Contract) []string {
	var out []string
	for _, i := range c.Key {
		out = append(out, c.Fields[i].Name)
	}
	return out
}
