package cdc

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"
)

// Customer is a row of the simulated source table inventory.customers.
type Customer struct {
	ID        int64   `json:"id"`
	FirstName string  `json:"first_name"`
	LastName  string  `json:"last_name"`
	Email     *string `json:"email"`
}

// Event is one Kafka record a Debezium connector would produce: the row's key and the change
// event, or a nil Value for the tombstone that follows a delete.
type Event struct {
	Key, Value []byte
}

// Simulator is a model table of customers changed by random inserts, updates and deletes, each
// emitted as a PostgreSQL connector's change event (LSNs increasing, source times a few
// milliseconds apart). Table is the model's state after the events so far: what applying every
// change in order must give. It is deterministic for a seed.
type Simulator struct {
	rng        *rand.Rand
	rows       map[int64]Customer
	nextID     int64
	lsn        uint64
	ts         int64
	Wrapped    bool // wrap events in Kafka Connect's schema/payload, as schemas.enable=true does
	Tombstones bool // follow each delete with a tombstone, as Debezium does by default
}

// NewSimulator starts an empty table; source times start at start.
func NewSimulator(seed uint64, start time.Time) *Simulator {
	return &Simulator{rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), rows: map[int64]Customer{},
		lsn: 24_000_000, ts: start.UnixMilli(), Tombstones: true}
}

var firstNames = []string{"Anne", "Bob", "Chidi", "Dana", "Eun-ji", "Farid", "Greta", "Hiro", "Ines", "José"}
var lastNames = []string{"Kretchmar", "Okafor", "Lindqvist", "Moreau", "Nakamura", "Ortega", "Patel", "Quinn"}

func (s *Simulator) person(id int64) Customer {
	c := Customer{ID: id, FirstName: firstNames[s.rng.IntN(len(firstNames))], LastName: lastNames[s.rng.IntN(len(lastNames))]}
	if s.rng.IntN(4) > 0 {
		e := fmt.Sprintf("%s.%d@example.com", c.FirstName, s.rng.IntN(1000))
		c.Email = &e
	}
	return c
}

// Next makes one change to the table and returns its events (the change, and a tombstone after
// a delete when Tombstones is set).
func (s *Simulator) Next() []Event {
	s.lsn += uint64(8 + s.rng.IntN(200))
	s.ts += int64(1 + s.rng.IntN(20))
	var op Op
	var before, after *Customer
	var id int64
	switch n := len(s.rows); {
	case n < 5 || s.rng.IntN(10) < 4:
		s.nextID++
		id = s.nextID
		op, after = Create, ptr(s.person(id))
		s.rows[id] = *after
	default:
		id = s.pick()
		old := s.rows[id]
		if s.rng.IntN(3) == 0 {
			op, before = Delete, &old
			delete(s.rows, id)
		} else {
			nu := s.person(id)
			op, before, after = Update, &old, &nu
			s.rows[id] = nu
		}
	}
	payload := map[string]any{"before": before, "after": after, "op": string(op), "ts_ms": s.ts + 3, "transaction": nil,
		"source": map[string]any{"version": "2.7.0.Final", "connector": "postgresql", "name": "dbserver1", "ts_ms": s.ts,
			"snapshot": "false", "db": "inventory", "schema": "public", "table": "customers", "lsn": s.lsn, "txId": s.lsn / 8}}
	var v any = payload
	if s.Wrapped {
		v = map[string]any{"schema": map[string]any{"type": "struct", "name": "dbserver1.public.customers.Envelope", "optional": false}, "payload": payload}
	}
	value, _ := json.Marshal(v) // maps, strings and numbers: cannot fail
	key := fmt.Appendf(nil, `{"id":%d}`, id)
	out := []Event{{Key: key, Value: value}}
	if op == Delete && s.Tombstones {
		out = append(out, Event{Key: key})
	}
	return out
}

// pick is a random existing id.
func (s *Simulator) pick() int64 {
	ids := make([]int64, 0, len(s.rows))
	for id := range s.rows {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids[s.rng.IntN(len(ids))]
}

// Table is the model table now, by id.
func (s *Simulator) Table() map[int64]Customer {
	out := make(map[int64]Customer, len(s.rows))
	for id, c := range s.rows {
		out[id] = c
	}
	return out
}

func ptr[T any](v T) *T { return &v }
