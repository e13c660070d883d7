package cost

// The per-service billing arithmetic, one method per rule, in USD. The model calls these and the
// tests check them against AWS's worked examples.

// KinesisOnDemand is a month of on-demand streams: stream-hours, data in, and data out for each
// consumer, every record rounded up to 1 KB both ways (the page states the rounding for data in;
// data out is taken to round the same way).
func (p Prices) KinesisOnDemand(streams, hours, records float64, recordBytes int, consumers float64) (streamUSD, inUSD, outUSD float64) {
	gb := records * float64(KinesisBilledBytes(recordBytes)) / gib
	return streams * hours * p.KinesisStreamHour, gb * p.KinesisIngestGB, consumers * gb * p.KinesisRetrievalGB
}

// KinesisProvisioned is a month of provisioned shards and the PUT payload units of the records
// written; reading without enhanced fan-out is free.
func (p Prices) KinesisProvisioned(shards, hours, records float64, recordBytes int) (shardUSD, putUSD float64) {
	units := records * float64(PUTPayloadUnits(recordBytes))
	return shards * hours * p.KinesisShardHour, units / 1e6 * p.KinesisPUTUnitsPerMillion
}

// FirehoseIngest is Firehose's ingestion and, with conversion, its Parquet conversion: both on
// the records rounded up to 5 KB each.
func (p Prices) FirehoseIngest(records float64, recordBytes int, convert bool) (ingestUSD, conversionUSD float64) {
	gb := records * float64(FirehoseBilledBytes(recordBytes)) / gib
	if convert {
		conversionUSD = gb * p.FirehoseConversionGB
	}
	return gb * p.FirehoseIngestGB, conversionUSD
}

// Lambda is the requests and GB-seconds of a month, less the account's free tier when asked.
func (p Prices) Lambda(requests, gbSeconds float64, freeTier bool) float64 {
	if freeTier {
		requests = max(requests-p.Free.LambdaRequests, 0)
		gbSeconds = max(gbSeconds-p.Free.LambdaGBSeconds, 0)
	}
	return requests/1e6*p.LambdaRequestsPerMillion + gbSeconds*p.LambdaGBSecond
}

// Athena is queries that each scan scanBytes.
func (p Prices) Athena(queries float64, scanBytes int64) float64 {
	return queries * float64(AthenaBilledBytes(scanBytes, p.AthenaMinQueryBytes)) / tib * p.AthenaPerTB
}

// XRay is the traces recorded in a month, less the free tier when asked.
func (p Prices) XRay(traces float64, freeTier bool) float64 {
	if freeTier {
		traces = max(traces-p.Free.XRayRecorded, 0)
	}
	return traces / 1e6 * p.XRayPerMillionRecorded
}

// S3Storage is GB-months in S3 Standard (noncurrent versions included).
func (p Prices) S3Storage(gbMonths float64) float64 { return gbMonths * p.S3StandardGBMonth }
