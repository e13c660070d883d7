// Package fake makes believable records for any dataset contract, and on request deliberately
// broken ones, for demos, load tests and end-to-end tests.
//
// Values come from the contract: every field's kind, nullability, enum symbols and quality rules
// (min, max, pattern, lengths) shape what is generated, so a good record always passes the
// contract. Common field names (email, phone, name, last_name, user_id, country, currency,
// ip_address, page, uuid, event_id, ...) get realistic values from gofakeit; other fields get
// values made from their rules. A Generator is deterministic for a seed and a clock.
package fake

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/brianvoe/gofakeit/v7"

	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/contract"
)

// DatasetField is the top-level field that names a record's dataset on the wire.
const DatasetField = "_dataset"

// Options tune a Generator. The zero value is usable: seed 0, now = time.Now(), a 3 hour spread,
// no bad records.
type Options struct {
	// Seed makes the output reproducible: the same seed, contract and Now give the same records.
	Seed uint64
	// Now is the latest event time generated (event times are never in the future). Zero means
	// time.Now() at New.
	Now time.Time
	// Spread is how far back event times go: they are spread over [Now-Spread, Now].
	// Zero means 3 hours.
	Spread time.Duration
	// BadShare is the share of records, from 0 to 1, that are deliberately invalid. The bad
	// records are spaced evenly, so n records hold exactly floor(n*BadShare) bad ones.
	BadShare float64
	// BadKinds limits the kinds of bad record made; nil means every kind that applies to the
	// contract (see Kinds). Listed kinds that do not apply are skipped (a contract change can
	// make one valid, as reading naive timestamps in a zone did to timestamp_without_zone);
	// New fails only when none applies.
	BadKinds []Kind
	// PartitionFrom picks the partition key: "" or "key" for the contract's key fields (spreads
	// shards, keeps one entity's events in order), "random" for a random key per record, or the
	// name of a field (e.g. "user_id" keeps each user's events in order).
	PartitionFrom string
}

// Record is one generated record, ready to put on a stream.
type Record struct {
	// Dataset is the contract the record was made for (a record of kind UnknownDataset names
	// another dataset in its data).
	Dataset string
	// PartitionKey is the Kinesis partition key chosen by Options.PartitionFrom.
	PartitionKey string
	// Data is the wire form: one JSON object with the contract's fields and "_dataset".
	Data []byte
	// Bad is the kind of defect, or "" for a good record.
	Bad Kind
	// Field names the field that carries the defect, when there is one.
	Field string
}

// Generator makes records for one contract. It is not safe for concurrent use.
type Generator struct {
	c       *contract.Contract
	opts    Options
	now     time.Time
	f       *gofakeit.Faker
	fields  []fieldGen
	kinds   []Kind // bad kinds in use, in a seed-shuffled order
	nextBad int    // round robin over kinds
	n       int    // records made
	part    int    // index of the partition field, -1 for the contract key or random
	// gate is a field whose value decides whether commerce fields are present.
	gate int
	// values of the record being built, by field index; absent[i] means leave the key out.
	values []any
	absent []bool
}

type fieldGen struct {
	f *contract.Field
	// gen makes a candidate value: string, int64, float64, bool or map[string]string.
	gen func(g *Generator) any
	// fallback makes a value from the rules alone, when gen's candidate fails them.
	fallback func(g *Generator) any
	// known is a value seen to pass the rules, the last resort.
	known    any
	presence float64 // for nullable fields: how often a value is present
	commerce bool    // present only when the gate says an order happened
}

// New prepares a generator for c. It fails when a field's rules cannot be met by generated
// values (a pattern too hard for the regular-expression generator, an empty numeric range).
func New(c *contract.Contract, opts Options) (*Generator, error) {
	if c == nil {
		return nil, errors.New("fake: no contract given")
	}
	if cdc.IsChangeStream(c) {
		// Random values in a change stream's fields would be changes of rows that never
		// existed, deletes of keys never inserted: no source produces that.
		return nil, fmt.Errorf("fake: %s is a change stream of a source table: its events are the changes cdc.Simulator makes of a model table, not independent random records", c.Name)
	}
	if opts.BadShare < 0 || opts.BadShare > 1 || math.IsNaN(opts.BadShare) {
		return nil, fmt.Errorf("fake: bad share %v must be between 0 and 1", opts.BadShare)
	}
	if opts.Spread < 0 {
		return nil, fmt.Errorf("fake: spread %v must not be negative", opts.Spread)
	}
	if opts.Spread == 0 {
		opts.Spread = 3 * time.Hour
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	// Each dataset gets its own stream of randomness from the same seed, so adding a dataset
	// to a run does not change the records of the others.
	h := sha256.Sum256([]byte(c.Name))
	s2 := binary.LittleEndian.Uint64(h[:8])
	g := &Generator{
		c:      c,
		opts:   opts,
		now:    now.Truncate(time.Millisecond),
		f:      gofakeit.NewFaker(rand.NewPCG(opts.Seed, s2), false),
		part:   -1,
		gate:   -1,
		values: make([]any, len(c.Fields)),
		absent: make([]bool, len(c.Fields)),
	}
	switch opts.PartitionFrom {
	case "", "key", "random":
	default:
		f, ok := c.Field(opts.PartitionFrom)
		if !ok {
			return nil, fmt.Errorf("fake: partition key field %q is not in contract %s (fields: %s; or use key or random)",
				opts.PartitionFrom, c.Name, strings.Join(c.FieldNames(), ", "))
		}
		g.part = f.Index
	}
	for i := range c.Fields {
		f := &c.Fields[i]
		if f.Kind == contract.Enum && hasAny(f.Symbols, orderSymbols...) {
			g.gate = i
		}
	}
	for i := range c.Fields {
		fg, err := g.plan(&c.Fields[i])
		if err != nil {
			return nil, fmt.Errorf("fake: contract %s: field %q: %w", c.Name, c.Fields[i].Name, err)
		}
		g.fields = append(g.fields, fg)
	}
	if err := g.planBad(); err != nil {
		return nil, err
	}
	return g, nil
}

// Contract is the contract the generator makes records for.
func (g *Generator) Contract() *contract.Contract { return g.c }

// Next makes the next record: good, or bad when its turn in the bad share has come.
func (g *Generator) Next() Record {
	i := g.n
	g.n++
	bad := math.Floor(float64(i+1)*g.opts.BadShare) > math.Floor(float64(i)*g.opts.BadShare)
	g.fill()
	key := g.partitionKey()
	if !bad || len(g.kinds) == 0 {
		return Record{Dataset: g.c.Name, PartitionKey: key, Data: g.encode(nil)}
	}
	kind := g.kinds[g.nextBad%len(g.kinds)]
	g.nextBad++
	data, field := g.corrupt(kind)
	return Record{Dataset: g.c.Name, PartitionKey: key, Data: data, Bad: kind, Field: field}
}

// Bad makes a record with a defect of the given kind. It fails when the kind does not apply
// to the contract (say, out_of_range for a contract without numeric bounds).
func (g *Generator) Bad(kind Kind) (Record, error) {
	if !g.applies(kind) {
		return Record{}, fmt.Errorf("fake: bad kind %q does not apply to contract %s (it applies: %v)", kind, g.c.Name, Kinds(g.c))
	}
	g.n++
	g.fill()
	key := g.partitionKey()
	data, field := g.corrupt(kind)
	return Record{Dataset: g.c.Name, PartitionKey: key, Data: data, Bad: kind, Field: field}, nil
}

// fill draws the values of one good record.
func (g *Generator) fill() {
	order := true
	if g.gate >= 0 {
		// Decide the gate first so that commerce fields can follow it.
		v := g.value(g.gate)
		g.values[g.gate] = v
		s, _ := v.(string)
		order = contains(orderSymbols, s)
	}
	for i := range g.fields {
		fg := &g.fields[i]
		g.absent[i] = false
		if i == g.gate {
			continue
		}
		if fg.f.Nullable {
			present := g.f.Float64() < fg.presence
			if fg.commerce {
				present = order
			}
			if !present {
				g.values[i] = nil
				// Absent and null mean the same on the wire; producers do both.
				g.absent[i] = g.f.IntN(2) == 0
				continue
			}
		}
		g.values[i] = g.value(i)
	}
}

// value draws one value for field i that passes its rules.
func (g *Generator) value(i int) any {
	fg := &g.fields[i]
	for try := 0; try < 8; try++ {
		v := fg.gen(g)
		if ok(fg.f, v) {
			return v
		}
	}
	if fg.fallback != nil {
		for try := 0; try < 8; try++ {
			v := fg.fallback(g)
			if ok(fg.f, v) {
				return v
			}
		}
	}
	return fg.known
}

func (g *Generator) partitionKey() string {
	var k string
	switch {
	case g.opts.PartitionFrom == "random":
		k = fmt.Sprintf("%016x", g.f.Uint64())
	case g.part >= 0:
		k = keyString(g.values[g.part])
	default:
		parts := make([]string, len(g.c.Key))
		for j, idx := range g.c.Key {
			parts[j] = keyString(g.values[idx])
		}
		k = strings.Join(parts, "|")
	}
	// Kinesis takes 1 to 256 characters; hashing keeps the spread and the ordering per value.
	if k == "" {
		k = "-"
	}
	if len(k) > 256 {
		sum := sha256.Sum256([]byte(k))
		k = hex.EncodeToString(sum[:])
	}
	return k
}

func keyString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

// member is one key and its raw JSON value, in wire order.
type member struct {
	name string
	raw  []byte
}

// members renders the current values as the wire object's members, "_dataset" first.
func (g *Generator) members() []member {
	ms := make([]member, 0, len(g.fields)+1)
	ms = append(ms, member{DatasetField, mustJSON(g.c.Name)})
	for i, fg := range g.fields {
		if g.absent[i] {
			continue
		}
		ms = append(ms, member{fg.f.Name, mustJSON(g.values[i])})
	}
	return ms
}

// encode renders the current record; edit, if given, may change the members first.
func (g *Generator) encode(edit func([]member) []member) []byte {
	ms := g.members()
	if edit != nil {
		ms = edit(ms)
	}
	return render(ms)
}

func render(ms []member) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(mustJSON(m.name))
		b.WriteByte(':')
		b.Write(m.raw)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func mustJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	// Page paths and URLs read better with & < > left alone; JSON allows either.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("fake: cannot encode %T: %v", v, err)) // only our own value types get here
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// ok reports whether v passes field f's type and rules.
func ok(f *contract.Field, v any) bool {
	r := f.Rules
	switch v := v.(type) {
	case string:
		if r.MinLength > 0 && len(v) < r.MinLength || r.MaxLength > 0 && len(v) > r.MaxLength {
			return false
		}
		if r.Pattern != nil && !r.Pattern.MatchString(v) {
			return false
		}
		return true
	case int64:
		return inRange(r, float64(v))
	case float64:
		if f.Kind == contract.Float {
			return inRange(r, float64(float32(v)))
		}
		return inRange(r, v)
	case bool, map[string]string:
		return true
	}
	return false
}

func inRange(r contract.Rules, x float64) bool {
	return (r.Min == nil || x >= *r.Min) && (r.Max == nil || x <= *r.Max)
}

func hasAny(list []string, want ...string) bool {
	for _, w := range want {
		if contains(list, w) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
