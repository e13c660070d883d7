// Package record turns raw records (JSON, optionally gzip'd) into typed, validated rows of a
// dataset's contract, or into a Reject that says exactly why not.
//
// It is the one validation path of the lake: the stream (ingest) and file drops (validate) both
// feed records through a Batch. Decoding is a single pass over the bytes driven by the contract,
// without building a generic map, because this is the hot path of every function.
package record

import (
	"bytes"
	"compress/gzip"
	"io"
	"math"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/sluicelake/sluice/shared/contract"
)

// DatasetField is the optional top-level key that names a record's dataset. It is not stored.
const DatasetField = "_dataset"

// Options bound what a Batch accepts.
type Options struct {
	// DefaultDataset applies to records without a _dataset field ("" means they are rejected).
	DefaultDataset string
	// MaxRecordBytes bounds a record, and its gunzipped form. Default 1 MiB, Kinesis's own limit.
	MaxRecordBytes int
	// MaxDepth bounds nesting inside a record. Default 32.
	MaxDepth int
	// Now is the clock that future event times are judged against. Default time.Now.
	Now func() time.Time
}

// Value is one field of one row. Which member holds the value depends on the field's Kind.
type Value struct {
	Set bool // present and not null
	// Int holds Int, Long, Boolean (0 or 1), Timestamp (ms since the epoch, UTC), Date (days
	// since the epoch) and Enum (the symbol's index).
	Int   int64
	Float float64
	// Str holds String and Enum bytes. It may point into the record given to Add.
	Str []byte
	// Map holds StringMap entries: pairs [MapStart, MapEnd) of the table's Pairs.
	MapStart, MapEnd int32
}

// Pair is one entry of a StringMap field.
type Pair struct{ Key, Value []byte }

// Table accumulates the rows of one dataset.
type Table struct {
	Contract *contract.Contract
	width    int
	vals     []Value
	tags     []int
	Pairs    []Pair
}

// Len is the number of rows.
func (t *Table) Len() int { return len(t.tags) }

// Row returns row i's values, one per contract field in contract order.
func (t *Table) Row(i int) []Value { return t.vals[i*t.width : (i+1)*t.width] }

// Tag returns the tag that Add was given for row i.
func (t *Table) Tag(i int) int { return t.tags[i] }

// EventTime is row i's event time in ms since the epoch.
func (t *Table) EventTime(i int) int64 { return t.vals[i*t.width+t.Contract.EventTime].Int }

// Batch decodes records into one Table per dataset.
type Batch struct {
	opts     Options
	reg      map[string]*contract.Contract
	tables   map[string]*Table
	order    []*Table
	members  []member
	now      int64
	arena    []byte // unescaped strings and gunzipped records; never reallocated once referenced
	gz       *gzip.Reader
	gzBuf    bytes.Buffer
	presence []bool
	hint     int
}

// valsPool keeps row storage between batches: a warm function handles batch after batch, and
// allocating (and zeroing) megabytes of rows for each was a tenth of ingest's time.
var valsPool sync.Pool

func getVals(n int) []Value {
	if p, ok := valsPool.Get().(*[]Value); ok && cap(*p) >= n {
		return (*p)[:0]
	}
	return make([]Value, 0, n)
}

// Release hands the batch's row storage back for the next batch. The batch and its tables must
// not be used afterwards.
func (b *Batch) Release() {
	for _, t := range b.order {
		if t.vals != nil {
			v := t.vals[:0]
			valsPool.Put(&v)
			t.vals = nil
		}
	}
}

// Reserve makes room for n more records up front. Growing a batch's rows one record at a
// time copies them over and over; a stream batch knows its size before it starts.
func (b *Batch) Reserve(n int) { b.hint = n }

// NewBatch returns an empty batch over the given contracts (by dataset name).
func NewBatch(contracts map[string]*contract.Contract, opts Options) *Batch {
	if opts.MaxRecordBytes <= 0 {
		opts.MaxRecordBytes = 1 << 20
	}
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = 32
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Batch{opts: opts, reg: contracts, tables: map[string]*Table{}, now: opts.Now().UnixMilli()}
}

// Tables returns the tables in the order their datasets first appeared.
func (b *Batch) Tables() []*Table { return b.order }

// alloc returns n bytes that stay valid for the life of the batch.
func (b *Batch) alloc(n int) []byte {
	if cap(b.arena)-len(b.arena) < n {
		size := 64 << 10
		if n > size {
			size = n
		}
		b.arena = make([]byte, 0, size)
	}
	start := len(b.arena)
	b.arena = b.arena[:start+n]
	return b.arena[start : start+n : start+n]
}

// Add decodes one record and appends it as a row of its dataset's table, remembering tag with it.
// data must stay unchanged for the life of the batch: rows may point into it. A record that
// cannot enter the lake is not added, and the Reject says why; the dataset is returned when known.
func (b *Batch) Add(data []byte, tag int) (dataset string, rej *Reject) {
	return b.AddFrom("", data, tag)
}

// WrongStream rejects a record whose _dataset names another dataset than the dataset stream it
// came on.
const WrongStream Code = "dataset_not_of_stream"

// AddFrom is Add for a record that arrived on the stream of streamDataset ("" for the shared
// stream, or any source that carries every dataset). A record without _dataset is of
// streamDataset. One whose _dataset names another dataset is rejected with WrongStream rather
// than routed: the stream's raw archive converts every record with streamDataset's schema, so
// the record would reach cleansed as one dataset and raw as a broken row of another.
func (b *Batch) AddFrom(streamDataset string, data []byte, tag int) (dataset string, rej *Reject) {
	return b.add(streamDataset, "", data, tag)
}

// AddDefault is Add for a record whose source names a dataset without binding it (a Kafka
// topic mapped to a dataset): a record without _dataset is of dataset, and a record's _dataset
// wins, as no archive of the source is converted with one dataset's schema.
func (b *Batch) AddDefault(dataset string, data []byte, tag int) (string, *Reject) {
	return b.add("", dataset, data, tag)
}

func (b *Batch) add(streamDataset, sourceDefault string, data []byte, tag int) (dataset string, rej *Reject) {
	if len(data) > b.opts.MaxRecordBytes {
		return "", reject(TooLarge, "", "%d bytes, over the limit of %d", len(data), b.opts.MaxRecordBytes)
	}
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		var r *Reject
		if data, r = b.gunzip(data); r != nil {
			return "", r
		}
	}
	s := scanner{d: data, maxDepth: b.opts.MaxDepth}
	members, rej := s.topObject(b.members[:0])
	b.members = members[:0]
	if rej != nil {
		return "", rej
	}

	dataset = b.opts.DefaultDataset
	if sourceDefault != "" {
		dataset = sourceDefault
	}
	if streamDataset != "" {
		dataset = streamDataset
	}
	dsIndex := -1
	for i := range members {
		if string(members[i].key) == DatasetField {
			m := &members[i]
			if m.kind != '"' || m.escaped {
				return "", reject(WrongType, DatasetField, "must be a plain string naming a dataset")
			}
			dataset = unsafe.String(unsafe.SliceData(data[m.start:]), m.end-m.start) // not kept: replaced by the contract's name below
			dsIndex = i
		}
	}
	c := b.reg[dataset]
	if c == nil {
		if dataset == "" {
			return "", reject(NoDataset, "", "the record has no %q field and this function has no default dataset", DatasetField)
		}
		return "", reject(UnknownDataset, DatasetField, "no contract for dataset %q", dataset)
	}
	if streamDataset != "" && c.Name != streamDataset {
		return streamDataset, reject(WrongStream, DatasetField, "%q arrived on the stream of dataset %q, which carries only that dataset: send it to the stream of %q or to the shared stream", dataset, streamDataset, dataset)
	}
	dataset = c.Name
	t := b.tables[dataset]
	if t == nil {
		t = &Table{Contract: c, width: len(c.Fields), vals: getVals(b.hint * len(c.Fields)), tags: make([]int, 0, b.hint)}
		if c.HasMap() {
			t.Pairs = make([]Pair, 0, 4*b.hint)
		}
		b.tables[dataset] = t
		b.order = append(b.order, t)
	}

	base := len(t.vals)
	pairsBase := len(t.Pairs)
	t.vals = append(t.vals, make([]Value, t.width)...)
	row := t.vals[base:]
	rollback := func(r *Reject) (string, *Reject) {
		t.vals = t.vals[:base]
		t.Pairs = t.Pairs[:pairsBase]
		return dataset, r
	}
	if cap(b.presence) < t.width {
		b.presence = make([]bool, t.width)
	}
	seen := b.presence[:t.width]
	clear(seen)
	for i := range members {
		if i == dsIndex {
			continue
		}
		m := &members[i]
		f, ok := c.Field(unsafe.String(unsafe.SliceData(m.key), len(m.key)))
		if !ok {
			if c.RejectUnknown {
				return rollback(reject(UnknownField, string(m.key), "not in contract %s (fields: %v)", c.Name, c.FieldNames()))
			}
			continue
		}
		seen[f.Index] = true
		if r := b.convert(t, f, m, data, &row[f.Index]); r != nil {
			if r.Field == "" {
				r.Field = f.Name
			}
			return rollback(r)
		}
	}
	for i := range c.Fields {
		if !seen[i] && !c.Fields[i].Nullable {
			return rollback(reject(MissingField, c.Fields[i].Name, "required (%s)", c.Fields[i].Describe()))
		}
	}
	et := row[c.EventTime].Int
	if skew := c.MaxFutureSkew.Milliseconds(); et > b.now+skew {
		return rollback(reject(FutureTime, c.Fields[c.EventTime].Name, "%s is more than %s ahead of now",
			time.UnixMilli(et).UTC().Format(time.RFC3339Nano), c.MaxFutureSkew))
	}
	t.tags = append(t.tags, tag)
	return dataset, nil
}

func (b *Batch) gunzip(data []byte) ([]byte, *Reject) {
	var err error
	if b.gz == nil {
		b.gz, err = gzip.NewReader(bytes.NewReader(data))
	} else {
		err = b.gz.Reset(bytes.NewReader(data))
	}
	if err != nil {
		return nil, reject(BadGzip, "", "%v", err)
	}
	b.gzBuf.Reset()
	limit := int64(b.opts.MaxRecordBytes)
	n, err := io.Copy(&b.gzBuf, io.LimitReader(b.gz, limit+1))
	if err != nil {
		return nil, reject(BadGzip, "", "%v", err)
	}
	if n > limit {
		return nil, reject(TooLarge, "", "gunzips to more than %d bytes", limit)
	}
	out := b.alloc(int(n))
	copy(out, b.gzBuf.Bytes())
	return out, nil
}

func (b *Batch) convert(t *Table, f *contract.Field, m *member, data []byte, v *Value) *Reject {
	raw := data[m.start:m.end]
	if m.kind == 'n' {
		if !f.Nullable {
			return reject(NullField, f.Name, "required (%s), got null", f.Describe())
		}
		return nil
	}
	switch f.Kind {
	case contract.String, contract.Enum, contract.Timestamp, contract.Date:
		if m.kind != '"' {
			if m.kind == '0' && f.Coerce == contract.NumberToString {
				return numberToString(f, raw, v)
			}
			return wrongType(f, m)
		}
		if m.escaped {
			un, r := unescape(nil, raw)
			if r != nil {
				return r
			}
			raw = b.alloc(len(un))
			copy(raw, un)
		}
		switch f.Kind {
		case contract.Timestamp:
			ms, r := parseTimestamp(raw, f.WithoutZone)
			if r != nil {
				return r
			}
			v.Int = ms
		case contract.Date:
			days, ok := parseDate(raw)
			if !ok {
				return reject(BadDate, f.Name, "%q is not a date YYYY-MM-DD", raw)
			}
			v.Int = days
		case contract.Enum:
			idx := -1
			for i, s := range f.Symbols {
				if s == string(raw) {
					idx = i
					break
				}
			}
			if idx < 0 {
				return reject(BadEnum, f.Name, "%q is not one of %v", truncate(raw), f.Symbols)
			}
			v.Int = int64(idx)
			v.Str = raw
		default:
			if r := checkString(f, raw); r != nil {
				return r
			}
			v.Str = raw
		}
	case contract.Int, contract.Long:
		if m.kind != '0' {
			if m.kind != '"' || f.Coerce != contract.StringToNumber {
				return wrongType(f, m)
			}
			var r *Reject
			if raw, r = b.numericString(f, m, raw); r != nil {
				return r
			}
		} else if !m.integral {
			return reject(NotInteger, f.Name, "%s is not a whole number", truncate(raw))
		}
		n, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(raw), len(raw)), 10, 64)
		if err != nil || f.Kind == contract.Int && (n < math.MinInt32 || n > math.MaxInt32) {
			return reject(IntOverflow, f.Name, "%s does not fit a %s", truncate(raw), f.Kind)
		}
		if r := checkRange(f, float64(n), raw); r != nil {
			return r
		}
		v.Int = n
	case contract.Float, contract.Double:
		if m.kind != '0' {
			if m.kind != '"' || f.Coerce != contract.StringToNumber {
				return wrongType(f, m)
			}
			var r *Reject
			if raw, r = b.numericString(f, m, raw); r != nil {
				return r
			}
		}
		x, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(raw), len(raw)), 64)
		if err != nil || math.IsInf(x, 0) || f.Kind == contract.Float && math.Abs(x) > math.MaxFloat32 {
			return reject(NonFinite, f.Name, "%s overflows a %s", truncate(raw), f.Kind)
		}
		if r := checkRange(f, x, raw); r != nil {
			return r
		}
		v.Float = x
	case contract.Boolean:
		switch m.kind {
		case 't':
			v.Int = 1
		case 'f':
		case '"':
			if f.Coerce != contract.StringToBoolean {
				return wrongType(f, m)
			}
			switch string(raw) {
			case "true":
				v.Int = 1
			case "false":
			default:
				return reject(CoerceStringToBoolean, f.Name, `%q is not "true" or "false"`, truncate(raw))
			}
		default:
			return wrongType(f, m)
		}
	case contract.StringMap:
		if m.kind != '{' {
			return wrongType(f, m)
		}
		if r := b.decodeMap(t, f, raw, v); r != nil {
			return r
		}
	}
	v.Set = true
	return nil
}

// numberToString stores a JSON number as its text exactly as sent. An exponent is refused: "1e3"
// is not how anyone writes a phone or an id, and reformatting it would invent digits.
func numberToString(f *contract.Field, raw []byte, v *Value) *Reject {
	if bytes.IndexAny(raw, "eE") >= 0 {
		return reject(CoerceNumberToString, f.Name, "%s has an exponent: send the number written out, or as a string", truncate(raw))
	}
	if r := checkString(f, raw); r != nil {
		return r
	}
	v.Str = raw
	v.Set = true
	return nil
}

// numericString returns the contents of a string that holds a JSON number (no spaces, no leading
// +, no hex), to be read as if the number had been sent bare; an integer field also wants it whole.
func (b *Batch) numericString(f *contract.Field, m *member, raw []byte) ([]byte, *Reject) {
	if m.escaped {
		var r *Reject
		if raw, r = b.unescaped(raw); r != nil {
			return nil, r
		}
	}
	integral, ok := jsonNumber(raw)
	if !ok {
		return nil, reject(CoerceStringToNumber, f.Name, "%q is not a number", truncate(raw))
	}
	if !integral && (f.Kind == contract.Int || f.Kind == contract.Long) {
		return nil, reject(NotInteger, f.Name, "%q is not a whole number", truncate(raw))
	}
	return raw, nil
}

// jsonNumber reports whether b is exactly one JSON number, and whether it is whole.
func jsonNumber(b []byte) (integral, ok bool) {
	if len(b) == 0 || b[0] != '-' && (b[0] < '0' || b[0] > '9') {
		return false, false
	}
	s := scanner{d: b}
	integral, r := s.number()
	return integral, r == nil && s.pos == len(b)
}

// IsJSONNumber reports whether text is exactly one JSON number ("42", "-1.5e3"; not " 42", "+1",
// "042", "NaN"): what a string must hold for string_to_number.
func IsJSONNumber(text []byte) bool {
	_, ok := jsonNumber(text)
	return ok
}

// decodeMap reads a JSON object of strings (already validated by the scanner) into pairs.
func (b *Batch) decodeMap(t *Table, f *contract.Field, raw []byte, v *Value) *Reject {
	s := scanner{d: raw, maxDepth: 1}
	v.MapStart = int32(len(t.Pairs))
	s.pos = 1
	s.ws()
	if s.d[s.pos] == '}' {
		v.MapEnd = v.MapStart
		return nil
	}
	for {
		s.ws()
		ks, ke, kesc, _ := s.str()
		s.ws()
		s.pos++ // ':'
		s.ws()
		if s.d[s.pos] != '"' {
			return reject(WrongType, f.Name, "map values must be strings (key %q)", truncate(raw[ks:ke]))
		}
		vs, ve, vesc, _ := s.str()
		key, val := raw[ks:ke], raw[vs:ve]
		var r *Reject
		if kesc {
			if key, r = b.unescaped(key); r != nil {
				return r
			}
		}
		if vesc {
			if val, r = b.unescaped(val); r != nil {
				return r
			}
		}
		for _, p := range t.Pairs[v.MapStart:] {
			if bytes.Equal(p.Key, key) {
				return reject(DuplicateKey, f.Name, "map key %q appears more than once", truncate(key))
			}
		}
		t.Pairs = append(t.Pairs, Pair{Key: key, Value: val})
		s.ws()
		if s.d[s.pos] == '}' {
			break
		}
		s.pos++ // ','
	}
	v.MapEnd = int32(len(t.Pairs))
	return nil
}

func (b *Batch) unescaped(raw []byte) ([]byte, *Reject) {
	un, r := unescape(nil, raw)
	if r != nil {
		return nil, r
	}
	out := b.alloc(len(un))
	copy(out, un)
	return out, nil
}

func wrongType(f *contract.Field, m *member) *Reject {
	names := map[byte]string{'"': "a string", '0': "a number", 't': "a boolean", 'f': "a boolean", '{': "an object", '[': "an array"}
	return reject(WrongType, f.Name, "want %s, got %s", f.Describe(), names[m.kind])
}

func checkString(f *contract.Field, s []byte) *Reject {
	if n := len(s); n < f.Rules.MinLength || f.Rules.MaxLength > 0 && n > f.Rules.MaxLength {
		return reject(BadLength, f.Name, "%d bytes, want %d to %d", n, f.Rules.MinLength, f.Rules.MaxLength)
	}
	if f.Rules.Pattern != nil && !f.Rules.Pattern.Match(s) {
		return reject(PatternMismatch, f.Name, "%q does not match %s", truncate(s), f.Rules.Pattern)
	}
	return nil
}

func checkRange(f *contract.Field, x float64, raw []byte) *Reject {
	if f.Rules.Min != nil && x < *f.Rules.Min || f.Rules.Max != nil && x > *f.Rules.Max {
		lo, hi := "-inf", "+inf"
		if f.Rules.Min != nil {
			lo = strconv.FormatFloat(*f.Rules.Min, 'g', -1, 64)
		}
		if f.Rules.Max != nil {
			hi = strconv.FormatFloat(*f.Rules.Max, 'g', -1, 64)
		}
		return reject(OutOfRange, f.Name, "%s is outside [%s, %s]", truncate(raw), lo, hi)
	}
	return nil
}

// truncate keeps reasons short: the whole record is in quarantine anyway.
func truncate(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "…"
	}
	return string(b)
}
