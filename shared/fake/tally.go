package fake

import (
	"fmt"
	"sort"
	"strings"
)

// Tally counts records by kind of defect, "" for good ones, so that a run can be compared with
// what ingest quarantined.
type Tally map[Kind]int

// Add counts r.
func (t Tally) Add(r Record) { t[r.Bad]++ }

// Total is the number of records counted.
func (t Tally) Total() int {
	n := 0
	for _, c := range t {
		n += c
	}
	return n
}

// Bad is the number of bad records counted.
func (t Tally) Bad() int { return t.Total() - t[""] }

// String lists the bad kinds, most frequent first: "missing_field 3, wrong_type 2".
func (t Tally) String() string {
	var kinds []Kind
	for k, c := range t {
		if k != "" && c > 0 {
			kinds = append(kinds, k)
		}
	}
	sort.Slice(kinds, func(i, j int) bool {
		if t[kinds[i]] != t[kinds[j]] {
			return t[kinds[i]] > t[kinds[j]]
		}
		return kinds[i] < kinds[j]
	})
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s %d", k, t[k])
	}
	return strings.Join(parts, ", ")
}
