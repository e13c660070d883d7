// Package access decides who may read what in the lake: which callers may read which datasets,
// in which zones, and which columns by PII class. The rules are files next to the contracts
// (events/access/*.json), checked at load like contracts, and one Policy answers every route
// the query API offers, so a structured query, raw SQL, results paging and the catalog all ask
// the same question and get the same answer.
//
// Without a grant a caller reads the curated zone (where the contract's PII policy has already
// masked, hashed or dropped what it names) and the lineage table, nothing else. A grant opens
// zones of datasets to callers; in a zone other than curated, a column whose PII policy is not
// keep is readable only when the grant names its PII class.
package access

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/zone"
)

// Zones beside the data zones that a grant may name. They are the lake's own tables: lineage is
// readable by every caller (it holds object names and counts, no values); audit records who read
// what, which only a grant opens.
const (
	Lineage zone.Zone = "lineage"
	Audit   zone.Zone = "audit"
)

// Caller is who makes a request, as API Gateway's IAM authorizer names them.
type Caller struct {
	// ARN is the principal: a user's ARN, or the role ARN of an assumed-role session
	// (arn:aws:iam::<account>:role/<name>), never the session's own ARN.
	ARN string `json:"arn"`
	// Tags are the principal's tags where known (the local host's caller header, or IAM).
	Tags map[string]string `json:"tags,omitempty"`
}

// CallerOf names the principal behind an ARN as grants name it: an STS assumed-role session
// (arn:aws:sts::<account>:assumed-role/<role>/<session>) becomes its role's ARN, since a grant
// names the role and a session name is whatever the caller chose.
func CallerOf(arn string) Caller {
	if rest, ok := strings.CutPrefix(arn, "arn:aws:sts::"); ok {
		account, role, found := strings.Cut(rest, ":assumed-role/")
		if found {
			if i := strings.Index(role, "/"); i >= 0 {
				role = role[:i]
			}
			return Caller{ARN: "arn:aws:iam::" + account + ":role/" + role}
		}
	}
	return Caller{ARN: arn}
}

func (c Caller) String() string {
	if c.ARN == "" {
		return "an anonymous caller"
	}
	return c.ARN
}

// Grant opens zones of datasets to callers. It is one entry of an access file.
type Grant struct {
	// Name says what the grant is for; it is quoted in refusals and in Lake Formation.
	Name string `json:"name"`
	// Callers are IAM principal ARNs; `*` matches any run of characters, so
	// arn:aws:iam::*:role/sluice-steward is that role in any account.
	Callers []string `json:"callers,omitempty"`
	// PrincipalTags match a caller carrying every tag given (tag-based access control).
	PrincipalTags map[string]string `json:"principal_tags,omitempty"`
	// Datasets are dataset names, or "*" for every dataset.
	Datasets []string `json:"datasets"`
	// Zones are raw, cleansed, curated, audit (and lineage, open to everyone anyway).
	Zones []zone.Zone `json:"zones"`
	// PII are the PII classes (mask, hash, drop, or "*") whose columns the grant opens in zones
	// other than curated. Without it a grant opens only the columns whose policy is keep.
	PII []contract.PII `json:"pii,omitempty"`
	// Manage lets the callers change the curated tables of the grant's datasets: roll one back
	// to an earlier snapshot (POST /tables/{dataset}/rollback).
	Manage bool `json:"manage,omitempty"`

	file string
}

// File is one access file.
type File struct {
	Grants []Grant `json:"grants"`
}

// Policy is the loaded access rules. The zero Policy (and a nil one) grants nothing beyond the
// defaults: curated and lineage for everyone.
type Policy struct {
	grants []Grant
}

// Error is a problem in an access file: the file, the field and what is wrong.
type Error struct {
	File, Field, Problem string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s: %s", e.File, e.Field, e.Problem) }

var grantZones = []zone.Zone{zone.Raw, zone.Cleansed, zone.Curated, Lineage, Audit}

// LoadFS reads every *.json in fsys as an access file and checks it against the datasets the
// lake has: an unknown dataset, zone or PII class, a grant without callers, or an unknown field
// fails with the file, the field and the problem. where names fsys in errors (e.g. events/access).
func LoadFS(fsys fs.FS, where string, datasets []string) (*Policy, error) {
	paths, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, err
	}
	p := &Policy{}
	for _, name := range paths {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read access file: %w", err)
		}
		grants, err := Parse(path.Join(where, name), data, datasets)
		if err != nil {
			return nil, err
		}
		p.grants = append(p.grants, grants...)
	}
	return p, nil
}

// Parse checks one access file.
func Parse(file string, data []byte, datasets []string) ([]Grant, error) {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, &Error{File: file, Field: "(file)", Problem: fmt.Sprintf("not an access file ({\"grants\": [...]}): %v", err)}
	}
	if len(f.Grants) == 0 {
		return nil, &Error{File: file, Field: "grants", Problem: "no grants: remove the file or add one"}
	}
	for i := range f.Grants {
		g := &f.Grants[i]
		g.file = file
		at := func(field string) string { return fmt.Sprintf("grants[%d].%s", i, field) }
		if g.Name == "" {
			return nil, &Error{file, at("name"), "required: say what the grant is for"}
		}
		if len(g.Callers) == 0 && len(g.PrincipalTags) == 0 {
			return nil, &Error{file, at("callers"), "name callers (IAM ARNs) or principal_tags: a grant to nobody is a mistake"}
		}
		for j, c := range g.Callers {
			if !strings.HasPrefix(c, "arn:") {
				return nil, &Error{file, at(fmt.Sprintf("callers[%d]", j)), fmt.Sprintf("%q is not an ARN (arn:aws:iam::<account>:role/<name>)", c)}
			}
			if strings.Contains(c, ":assumed-role/") {
				return nil, &Error{file, at(fmt.Sprintf("callers[%d]", j)), "name the role (arn:aws:iam::<account>:role/<name>), not a session of it"}
			}
		}
		if len(g.Datasets) == 0 {
			return nil, &Error{file, at("datasets"), "required: dataset names, or \"*\""}
		}
		for j, d := range g.Datasets {
			if d != "*" && d != string(Audit) && d != string(Lineage) && !slices.Contains(datasets, d) {
				return nil, &Error{file, at(fmt.Sprintf("datasets[%d]", j)), fmt.Sprintf("unknown dataset %q: one of %s, or *", d, strings.Join(datasets, ", "))}
			}
		}
		if len(g.Zones) == 0 {
			return nil, &Error{file, at("zones"), "required: some of raw, cleansed, curated, audit"}
		}
		for j, z := range g.Zones {
			if !slices.Contains(grantZones, z) {
				return nil, &Error{file, at(fmt.Sprintf("zones[%d]", j)), fmt.Sprintf("unknown zone %q: one of raw, cleansed, curated, audit", z)}
			}
		}
		for j, c := range g.PII {
			switch c {
			case contract.Mask, contract.Hash, contract.Drop, "*":
			default:
				return nil, &Error{file, at(fmt.Sprintf("pii[%d]", j)), fmt.Sprintf("unknown PII class %q: one of mask, hash, drop, or *", c)}
			}
		}
	}
	return f.Grants, nil
}

// Grants lists the rules, for Lake Formation's grants and the README.
func (p *Policy) Grants() []Grant {
	if p == nil {
		return nil
	}
	return slices.Clone(p.grants)
}

// File is the access file the grant came from.
func (g Grant) File() string { return g.file }

// Matches says whether the grant is to c.
func (g Grant) Matches(c Caller) bool {
	if c.ARN != "" {
		for _, pattern := range g.Callers {
			if glob(pattern, c.ARN) {
				return true
			}
		}
	}
	if len(g.PrincipalTags) == 0 {
		return false
	}
	for k, v := range g.PrincipalTags {
		if got, ok := c.Tags[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func (g Grant) covers(dataset string, z zone.Zone) bool {
	return (slices.Contains(g.Datasets, "*") || slices.Contains(g.Datasets, dataset)) && slices.Contains(g.Zones, z)
}

func (g Grant) opens(pii contract.PII) bool {
	return slices.Contains(g.PII, "*") || slices.Contains(g.PII, pii)
}

// glob matches s against a pattern in which * is any run of characters.
func glob(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// Open says whether a zone is readable without any grant: curated (the PII policy already
// applied), consumption (summaries computed from curated alone) and lineage.
func Open(z zone.Zone) bool { return z == zone.Curated || z == zone.Consumption || z == Lineage }

// Denied is a refusal: what was refused and what grant is missing. It is the API's 403.
type Denied struct {
	Caller  Caller
	Dataset string
	Zone    zone.Zone
	// Column is set when the zone is readable but the column is not.
	Column string
	PII    contract.PII
	// Action is set when what was refused is a change, not a read: "manage".
	Action string
}

func (d *Denied) Error() string {
	if d.Action != "" {
		return fmt.Sprintf("%s may not %s the curated table of %s: add a grant in events/access with datasets [%q] and \"manage\": true for this caller",
			d.Caller, d.Action, d.Dataset, d.Dataset)
	}
	if d.Column != "" {
		return fmt.Sprintf("%s may not read column %q of %s in zone %s: its PII policy is %s and no grant in events/access opens PII class %s there; add a grant with datasets [%q], zones [%q], pii [%q], or leave the column out",
			d.Caller, d.Column, d.Dataset, d.Zone, d.PII, d.PII, d.Dataset, d.Zone, d.PII)
	}
	return fmt.Sprintf("%s may not read %s in zone %s: without a grant a caller reads curated only; add a grant in events/access with datasets [%q] and zones [%q] for this caller",
		d.Caller, d.Dataset, d.Zone, d.Dataset, d.Zone)
}

// Zone says whether c may read dataset in zone z at all.
func (p *Policy) Zone(c Caller, dataset string, z zone.Zone) error {
	if Open(z) {
		return nil
	}
	for _, g := range p.Grants() {
		if g.covers(dataset, z) && g.Matches(c) {
			return nil
		}
	}
	return &Denied{Caller: c, Dataset: dataset, Zone: z}
}

// Column says whether c may read field f of dataset in zone z. In curated every column the zone
// holds is readable (promotion already applied the PII policy); elsewhere a column whose policy
// is not keep needs a grant naming its class.
func (p *Policy) Column(c Caller, dataset string, z zone.Zone, f *contract.Field) error {
	if err := p.Zone(c, dataset, z); err != nil {
		return err
	}
	if z == zone.Curated || f.PII == "" || f.PII == contract.Keep {
		return nil
	}
	for _, g := range p.Grants() {
		if g.covers(dataset, z) && g.opens(f.PII) && g.Matches(c) {
			return nil
		}
	}
	return &Denied{Caller: c, Dataset: dataset, Zone: z, Column: f.Name, PII: f.PII}
}

// Manage says whether c may change dataset's curated table (a rollback): only a grant with
// manage set, covering the dataset, allows it.
func (p *Policy) Manage(c Caller, dataset string) error {
	for _, g := range p.Grants() {
		if g.Manage && (slices.Contains(g.Datasets, "*") || slices.Contains(g.Datasets, dataset)) && g.Matches(c) {
			return nil
		}
	}
	return &Denied{Caller: c, Dataset: dataset, Zone: zone.Curated, Action: "manage"}
}

// Readable lists the zones of a dataset that c may read, in flow order.
func (p *Policy) Readable(c Caller, dataset string) []zone.Zone {
	var out []zone.Zone
	for _, z := range []zone.Zone{zone.Raw, zone.Cleansed, zone.Curated} {
		if p.Zone(c, dataset, z) == nil {
			out = append(out, z)
		}
	}
	return out
}

// Callers lists every ARN pattern the grants name, sorted, for Lake Formation and docs.
func (p *Policy) Callers() []string {
	seen := map[string]bool{}
	for _, g := range p.Grants() {
		for _, c := range g.Callers {
			seen[c] = true
		}
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}
