package lakehost

import (
	"time"

	"github.com/sluicelake/sluice/shared/erase"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/zone"
)

// Eraser erases keys from the local lake's zone buckets through the S3 stand-in, with this
// run's PII key (the one promote hashes with) and the given grace period for snapshots.
func (l *Lake) Eraser(grace time.Duration) *erase.Eraser {
	stores := map[zone.Zone]objectstore.Store{}
	for _, z := range []zone.Zone{zone.Raw, zone.Cleansed, zone.Curated, zone.Quarantine} {
		stores[z] = s3store.New(l.S3Client, Buckets[z])
	}
	return &erase.Eraser{Contracts: l.cfg.Contracts, Stores: stores, PIIKey: l.piiKey, Grace: grace}
}
