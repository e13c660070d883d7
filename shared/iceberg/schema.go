// Package iceberg writes and reads Apache Iceberg v2 tables: the curated zone's table format.
//
// The format is written here rather than with github.com/apache/iceberg-go because that
// library links Apache Arrow and geospatial code: a program importing its table and Glue
// catalog packages is 58 MB stripped, twice promote's size. What sluice needs is small:
// metadata JSON, Avro manifest lists and manifests (github.com/hamba/avro, which the contracts
// already use), and a commit protocol on a catalog with compare-and-swap. iceberg-go reads
// every table the tests write, as an independent oracle, in test code only.
//
// A table lives under one key prefix of a bucket:
//
//	<dataset>/data/dt=YYYY-MM-DD/hr=HH/<file>.parquet   data files (immutable)
//	<dataset>/metadata/<version>-<uuid>.metadata.json    table metadata, one per commit
//	<dataset>/metadata/snap-<id>-<uuid>.avro             manifest lists
//	<dataset>/metadata/<uuid>-m<n>.avro                  manifests
//
// A Catalog holds which metadata file is current; a commit writes the new metadata file and
// swaps the catalog's pointer only if it still names the metadata the commit was planned on.
package iceberg

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/sluicelake/sluice/shared/contract"
)

// Field is one column of a schema (Iceberg's nested field). Type is a primitive type's name,
// or a *MapType.
type Field struct {
	ID       int    `json:"id"`
	Name     string `json:"name"`
	Required bool   `json:"required"`
	Type     any    `json:"type"`
	Doc      string `json:"doc,omitempty"`
}

// MapType is Iceberg's map<K,V>; its key and value carry field ids of their own.
type MapType struct {
	Type          string `json:"type"` // "map"
	KeyID         int    `json:"key-id"`
	Key           string `json:"key"`
	ValueID       int    `json:"value-id"`
	Value         string `json:"value"`
	ValueRequired bool   `json:"value-required"`
}

// UnmarshalJSON reads Type as a primitive name or a map.
func (f *Field) UnmarshalJSON(b []byte) error {
	type plain Field
	var raw struct {
		plain
		Type json.RawMessage `json:"type"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*f = Field(raw.plain)
	var name string
	if err := json.Unmarshal(raw.Type, &name); err == nil {
		f.Type = name
		return nil
	}
	var m MapType
	if err := json.Unmarshal(raw.Type, &m); err != nil || m.Type != "map" {
		return fmt.Errorf("iceberg: field %q has a type sluice does not write (%s): only primitives and map<string,string>", f.Name, raw.Type)
	}
	f.Type = &m
	return nil
}

// Schema is one version of a table's columns.
type Schema struct {
	Type               string  `json:"type"` // "struct"
	SchemaID           int     `json:"schema-id"`
	IdentifierFieldIDs []int   `json:"identifier-field-ids,omitempty"`
	Fields             []Field `json:"fields"`
}

// Field returns the field called name.
func (s *Schema) Field(name string) (Field, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// maxID is the highest field id the schema uses, map keys and values included.
func (s *Schema) maxID() int {
	n := 0
	for _, f := range s.Fields {
		n = max(n, f.ID)
		if m, ok := f.Type.(*MapType); ok {
			n = max(n, m.KeyID, m.ValueID)
		}
	}
	return n
}

// curatedType is the Iceberg type of a field as the curated zone stores it: masked and hashed
// fields are strings there, whatever the contract's type.
func curatedType(f *contract.Field) string {
	if f.PII == contract.Mask || f.PII == contract.Hash {
		return "string"
	}
	switch f.Kind {
	case contract.String, contract.Enum:
		return "string"
	case contract.Int:
		return "int"
	case contract.Long:
		return "long"
	case contract.Float:
		return "float"
	case contract.Double:
		return "double"
	case contract.Boolean:
		return "boolean"
	case contract.Timestamp:
		// Stored as Parquet TIMESTAMP(MILLIS, UTC): an instant, which is Iceberg's timestamptz.
		return "timestamptz"
	case contract.Date:
		return "date"
	case contract.StringMap:
		return "map"
	}
	return ""
}

// SchemaOf builds the curated table schema of a contract: fields whose PII policy is drop are
// left out, masked and hashed ones are strings. Field ids are stable: a field keeps the id it
// has in prev (matched by name), and a new field takes the next id after lastColumnID, so data
// files written under an older schema still read correctly. prev may be nil for a new table.
// It returns the schema and the new last column id.
func SchemaOf(c *contract.Contract, prev *Schema, lastColumnID int) (*Schema, int, error) {
	s := &Schema{Type: "struct"}
	next := lastColumnID
	id := func(name string) int {
		if prev != nil {
			if f, ok := prev.Field(name); ok {
				return f.ID
			}
		}
		next++
		return next
	}
	for i := range c.Fields {
		f := &c.Fields[i]
		if f.PII == contract.Drop {
			continue
		}
		t := curatedType(f)
		if t == "" {
			return nil, 0, fmt.Errorf("iceberg: contract %s: field %s has kind %v, which has no Iceberg type here", c.Name, f.Name, f.Kind)
		}
		nf := Field{ID: id(f.Name), Name: f.Name, Required: !f.Nullable, Type: t, Doc: f.Doc}
		if t == "map" {
			m := &MapType{Type: "map", Key: "string", Value: "string"}
			if old, ok := prevMap(prev, f.Name); ok {
				m.KeyID, m.ValueID = old.KeyID, old.ValueID
			} else {
				next++
				m.KeyID = next
				next++
				m.ValueID = next
			}
			nf.Type = m
		}
		if pf, ok := fieldOf(prev, f.Name); ok && typeName(pf.Type) != typeName(nf.Type) {
			return nil, 0, fmt.Errorf("iceberg: contract %s: field %s changes type from %s to %s, which Iceberg cannot evolve: add a new field instead", c.Name, f.Name, typeName(pf.Type), typeName(nf.Type))
		}
		s.Fields = append(s.Fields, nf)
	}
	// Iceberg orders nothing by id, but readers show columns in schema order: the contract's.
	for _, k := range c.Key {
		if f, ok := s.Field(c.Fields[k].Name); ok && f.Required {
			s.IdentifierFieldIDs = append(s.IdentifierFieldIDs, f.ID)
		}
	}
	sort.Ints(s.IdentifierFieldIDs)
	return s, max(next, lastColumnID), nil
}

func fieldOf(s *Schema, name string) (Field, bool) {
	if s == nil {
		return Field{}, false
	}
	return s.Field(name)
}

func prevMap(s *Schema, name string) (*MapType, bool) {
	f, ok := fieldOf(s, name)
	if !ok {
		return nil, false
	}
	m, ok := f.Type.(*MapType)
	return m, ok
}

func typeName(t any) string {
	if m, ok := t.(*MapType); ok {
		return "map<" + m.Key + "," + m.Value + ">"
	}
	return fmt.Sprint(t)
}

// sameFields reports whether two schemas have the same columns (ids, names, types,
// nullability): whether a contract change needs a new schema at all.
func sameFields(a, b *Schema) bool {
	ja, _ := json.Marshal(a.Fields)
	jb, _ := json.Marshal(b.Fields)
	return string(ja) == string(jb) && fmt.Sprint(a.IdentifierFieldIDs) == fmt.Sprint(b.IdentifierFieldIDs)
}

// nameMapping is the table property schema.name-mapping.default: how readers find a column of
// a data file written without Parquet field ids (promote writes plain Parquet, named by the
// contract): by name, for every name any schema of the table has had.
func nameMapping(schemas []Schema) string {
	type entry struct {
		FieldID int      `json:"field-id"`
		Names   []string `json:"names"`
		Fields  []entry  `json:"fields,omitempty"`
	}
	byID := map[int]*entry{}
	var order []int
	for _, s := range schemas {
		for _, f := range s.Fields {
			e, ok := byID[f.ID]
			if !ok {
				e = &entry{FieldID: f.ID}
				byID[f.ID] = e
				order = append(order, f.ID)
				if m, ok := f.Type.(*MapType); ok {
					e.Fields = []entry{{FieldID: m.KeyID, Names: []string{"key"}}, {FieldID: m.ValueID, Names: []string{"value"}}}
				}
			}
			if !contains(e.Names, f.Name) {
				e.Names = append(e.Names, f.Name)
			}
		}
	}
	sort.Ints(order)
	out := make([]entry, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
