package summary

import (
	"slices"
	"sort"

	"github.com/sluicelake/sluice/shared/zone"
)

// Work is one summary's refresh: the days to recompute, or all of them.
type Work struct {
	Summary *Summary
	// Days are the days to recompute, sorted; nil with All.
	Days []string
	// All recomputes the whole table: a full-grain summary, or a day summary whose joined
	// dataset changed (a customer's new status may touch any day of its orders).
	All bool
}

// Plan turns the keys of curated objects that promotions created (in any order, repeated, the
// lake's bookkeeping among them) into one Work per summary they affect. A data file of
// <dataset>/data/dt=D/... affects day D of the day summaries of that dataset: a late event
// lands in the partition of its own time, so the day it happened on is the day recomputed.
func Plan(sums []*Summary, curatedKeys []string) []Work {
	days := map[string]map[string]bool{} // dataset → days changed
	for _, key := range curatedKeys {
		if zone.IsBookkeeping(key) {
			continue
		}
		ds, p, _, err := zone.ParseKey(key)
		if err != nil {
			continue // not a data file of a table
		}
		if days[ds] == nil {
			days[ds] = map[string]bool{}
		}
		days[ds][p.Date] = true
	}
	var out []Work
	for _, s := range sums {
		w := Work{Summary: s}
		for i, ds := range s.Inputs() {
			if len(days[ds]) == 0 {
				continue
			}
			if s.Grain == Full || i > 0 {
				w.All = true
			}
			for d := range days[ds] {
				if !slices.Contains(w.Days, d) {
					w.Days = append(w.Days, d)
				}
			}
		}
		if w.All {
			w.Days = nil
		}
		if w.All || len(w.Days) > 0 {
			sort.Strings(w.Days)
			out = append(out, w)
		}
	}
	return out
}
