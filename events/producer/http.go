package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/sluicelake/sluice/shared/awsconfig"
	"github.com/sluicelake/sluice/shared/collect"
	"github.com/sluicelake/sluice/shared/fake"
)

type httpSettings struct {
	url      string
	sigv4    bool
	amount   int
	attempts int
}

// sendHTTP produces through the events API instead of a stream: POST /events in calls of up to
// 500 records, every record naming its dataset, records the stream refused sent again.
func sendHTTP(ctx context.Context, gens []*fake.Generator, hs httpSettings, stdout, stderr io.Writer) int {
	client := &collect.Client{BaseURL: hs.url}
	if hs.sigv4 {
		cfg, err := awsconfig.Load(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "producer: %v\n", err)
			return 2
		}
		if cfg.Region == "" {
			fmt.Fprintln(stderr, "producer: --sigv4 needs a region: set AWS_REGION to the API's region")
			return 2
		}
		client.Sign = awsconfig.Signer(cfg.Credentials, "execute-api", cfg.Region)
	}
	s := &collect.Sender{Client: client, MaxAttempts: hs.attempts}
	tally, err := fake.Produce(ctx, gens, hs.amount, func(ctx context.Context, r fake.Record) error {
		return s.Add(ctx, r.Data)
	})
	if err == nil {
		err = s.Flush(ctx)
	}
	st := s.Stats()
	rate := 0.0
	if st.Elapsed > 0 {
		rate = float64(st.Accepted) / st.Elapsed.Seconds()
	}
	fmt.Fprintf(stdout, "events API %s: accepted %d, rejected %d, failed %d, in %s: %.0f records/s (%d calls, %d resends)\n",
		hs.url, st.Accepted, st.Rejected, st.Failed, st.Elapsed.Round(time.Millisecond), rate, st.Calls, st.Resent)
	if n := tally.Bad(); n > 0 {
		fmt.Fprintf(stdout, "bad records produced: %d of %d: %v; the API's reasons: %v\n", n, tally.Total(), tally, st.Codes)
	}
	if err != nil {
		fmt.Fprintf(stderr, "producer: stopped: %v\n", err)
		return 1
	}
	if st.Failed > 0 {
		fmt.Fprintf(stderr, "producer: %d records failed for good (by code: %v): the stream behind the API is refusing records; send more slowly\n", st.Failed, st.Codes)
		return 1
	}
	return 0
}
