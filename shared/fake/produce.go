package fake

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/contract"
)

// Generators makes one generator per dataset named in names (comma separated, or "all" for
// every contract in reg). Each draws from the same options.
func Generators(reg map[string]*contract.Contract, names string, opts Options) ([]*Generator, error) {
	known := slices.Sorted(maps.Keys(reg))
	var list []string
	if names == "all" {
		for _, name := range known {
			if !cdc.IsChangeStream(reg[name]) { // change streams come from cdc.Simulator
				list = append(list, name)
			}
		}
	} else {
		list = strings.Split(names, ",")
	}
	var gens []*Generator
	for _, name := range list {
		c, ok := reg[strings.TrimSpace(name)]
		if !ok {
			return nil, fmt.Errorf("dataset %q has no contract in events/ (known: %s, or all)", name, strings.Join(known, ", "))
		}
		g, err := New(c, opts)
		if err != nil {
			return nil, err
		}
		gens = append(gens, g)
	}
	return gens, nil
}

// Produce makes amount records, taking the generators in turn, and hands each to put. It stops
// at the first error put returns.
func Produce(ctx context.Context, gens []*Generator, amount int, put func(context.Context, Record) error) (Tally, error) {
	tally := Tally{}
	for i := 0; i < amount; i++ {
		if err := ctx.Err(); err != nil {
			return tally, err
		}
		r := gens[i%len(gens)].Next()
		tally.Add(r)
		if err := put(ctx, r); err != nil {
			return tally, err
		}
	}
	return tally, nil
}
