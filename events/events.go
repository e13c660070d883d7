// Package events holds the lake's dataset contracts (the *.avsc files beside this file), embedded
// so that every function binary and the CDK app read the very same bytes, plus sample trigger
// payloads (samples/) and the fake-event producer (producer/).
package events

import (
	"embed"
	"io/fs"

	"github.com/sluicelake/sluice/shared/access"
	"github.com/sluicelake/sluice/shared/contract"
)

// Files holds the contract files.
//
//go:embed *.avsc
var Files embed.FS

// Contracts parses the embedded contracts, sorted by dataset name.
func Contracts() ([]*contract.Contract, error) {
	return contract.LoadFS(Files, "events")
}

// Registry returns the embedded contracts by dataset name.
func Registry() (map[string]*contract.Contract, error) {
	cs, err := Contracts()
	if err != nil {
		return nil, err
	}
	m := make(map[string]*contract.Contract, len(cs))
	for _, c := range cs {
		m[c.Name] = c
	}
	return m, nil
}

// AccessFiles holds the access rules (access/*.json): who may read what beyond the curated zone.
//
//go:embed access/*.json
var AccessFiles embed.FS

// Access loads the embedded access rules, checked against the embedded contracts.
func Access() (*access.Policy, error) {
	cs, err := Contracts()
	if err != nil {
		return nil, err
	}
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	sub, err := fs.Sub(AccessFiles, "access")
	if err != nil {
		return nil, err
	}
	return access.LoadFS(sub, "events/access", names)
}

// SummaryFiles holds the summary tables of the consumption zone (summaries/*.json), loaded by
// shared/summary's Shipped: this package does not import it, or every function binary would
// link the refresh's Parquet writer and query compiler.
//
//go:embed summaries/*.json
var SummaryFiles embed.FS
