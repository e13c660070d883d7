package catalog

import (
	"fmt"
	"sort"
	"time"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/quarantine"
	"github.com/sluicelake/sluice/shared/zone"
)

// quality counts what entered the lake for ct in the window, by the time each object was
// written (not by its partition: cleansed partitions follow the event's time, quarantine's the
// arrival, so only the write time puts both on one clock). Valid is the rows of the cleansed
// objects written in the window, from their footers; quarantined the records of the
// quarantine objects written in it, with their reasons. Both the stream (ingest) and file
// drops (validate) write there, so records in = valid + quarantined covers both.
func (c *Catalog) quality(ct *contract.Contract, a Access, objs listed) *Quality {
	seeCleansed := c.Stores[zone.Cleansed] != nil && a.visible(ct.Name, zone.Cleansed)
	seeQuarantine := c.Stores[zone.Quarantine] != nil && a.visible(ct.Name, zone.Quarantine)
	if !seeCleansed && !seeQuarantine {
		return nil
	}
	now := c.now()
	days := int(c.window() / (24 * time.Hour))
	if days < 1 {
		days = 1
	}
	today := now.Truncate(24 * time.Hour)
	q := &Quality{From: today.AddDate(0, 0, -(days - 1)), To: now, Reasons: []Reason{}, Samples: []Sample{}}
	byDay := map[string]*Day{}
	for i := range days {
		d := q.From.AddDate(0, 0, i).Format(time.DateOnly)
		q.Days = append(q.Days, Day{Date: d})
	}
	for i := range q.Days {
		byDay[q.Days[i].Date] = &q.Days[i]
	}
	inWindow := func(o objectstore.Info) *Day {
		if o.LastModified.Before(q.From) {
			return nil
		}
		return byDay[dayOf(o.LastModified)]
	}

	if !seeCleansed {
		q.Unseen = append(q.Unseen, zone.Cleansed)
	} else {
		zo := objs[zone.Cleansed]
		for _, o := range zo.infos {
			d := inWindow(o)
			if d == nil || !isParquet(o.Key) {
				continue
			}
			r, ok := zo.reads[o.Key]
			if !ok || r.err != "" {
				q.Partial = true
				continue
			}
			d.Valid += r.rows
			q.Valid += r.rows
		}
	}

	if !seeQuarantine {
		q.Unseen = append(q.Unseen, zone.Quarantine)
	} else {
		reasons := map[string]int64{}
		type sampled struct {
			e  quarantine.Entry
			at time.Time
		}
		var samples []sampled
		zo := objs[zone.Quarantine]
		for _, o := range zo.infos {
			d := inWindow(o)
			if d == nil || !countable(zone.Quarantine, o.Key) {
				continue
			}
			r, ok := zo.reads[o.Key]
			if !ok || r.err != "" {
				q.Partial = true
				continue
			}
			d.Quarantined += r.rows
			q.Quarantined += r.rows
			for k, n := range r.reasons {
				reasons[k] += n
			}
			for _, e := range r.samples {
				at := e.Source.Arrival
				if at.IsZero() {
					at = o.LastModified
				}
				samples = append(samples, sampled{e, at.UTC()})
			}
		}
		for k, n := range reasons {
			q.Reasons = append(q.Reasons, Reason{Reason: k, Count: n})
		}
		sort.Slice(q.Reasons, func(i, j int) bool {
			if q.Reasons[i].Count != q.Reasons[j].Count {
				return q.Reasons[i].Count > q.Reasons[j].Count
			}
			return q.Reasons[i].Reason < q.Reasons[j].Reason
		})
		sort.SliceStable(samples, func(i, j int) bool { return samples[i].at.After(samples[j].at) })
		n := c.Samples
		if n <= 0 {
			n = 10
		}
		show := func(f *contract.Field) bool {
			return (f.PII == "" || f.PII == contract.Keep) && a.column(ct.Name, zone.Quarantine, f)
		}
		for _, s := range samples[:min(n, len(samples))] {
			q.Samples = append(q.Samples, sample(s.e, s.at, ct, show))
		}
	}
	q.RecordsIn = q.Valid + q.Quarantined
	return q
}

func sample(e quarantine.Entry, at time.Time, ct *contract.Contract, show func(f *contract.Field) bool) Sample {
	s := Sample{Reason: e.Reason, Field: e.Field, Detail: e.Detail, At: at, Preview: Mask(e.Preview, ct, show)}
	if f, ok := ct.Field(e.Field); !ok || !show(f) {
		s.Detail = MaskDetail(e.Detail)
	}
	if e.Preview == "" {
		s.Preview = "(not text: the record's bytes are kept in the quarantine object)"
	}
	switch src := e.Source; {
	case src.Stream != "":
		s.Source = fmt.Sprintf("stream %s, %s", src.Stream, src.Shard)
	case src.Key != "":
		s.Source = fmt.Sprintf("s3://%s/%s", src.Bucket, src.Key)
		if src.Line > 0 {
			s.Source += fmt.Sprintf(" line %d", src.Line)
		}
	}
	return s
}

func sortNewestFirst(infos []objectstore.Info) {
	sort.SliceStable(infos, func(i, j int) bool { return infos[i].LastModified.After(infos[j].LastModified) })
}
