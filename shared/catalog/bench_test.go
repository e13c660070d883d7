package catalog_test

import (
	"context"
	"testing"

	"github.com/sluicelake/sluice/shared/catalog"
)

// BenchmarkGet: one dataset's description over an S3-protocol server (gofakes3), cold (every
// footer and quarantine object read) and warm (the cache answers; listings only).
func BenchmarkGet(b *testing.B) {
	l := newLakeTB(b, 3000)
	ctx := context.Background()
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			if _, err := l.catalog().Get(ctx, "user_events", catalog.Access{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("warm", func(b *testing.B) {
		c := l.catalog()
		if _, err := c.Get(ctx, "user_events", catalog.Access{}); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := c.Get(ctx, "user_events", catalog.Access{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	objects := 0
	d, _ := l.catalog().Get(ctx, "user_events", catalog.Access{})
	for _, z := range d.Zones {
		objects += z.Objects
	}
	b.Logf("user_events: %d objects in %d zones", objects, len(d.Zones))
}
