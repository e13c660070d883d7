package iampolicy

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Locals tells how the template's names become local ones.
type Locals struct {
	// Env maps a function environment variable to its local value, e.g. SLUICE_RAW_BUCKET →
	// "raw". Wherever a function's variable is {"Ref": X} in the template, X resolves to that
	// value everywhere (bucket ARNs included).
	Env map[string]string
	// Partition, Region and Account stand for the pseudo parameters (aws, us-east-1,
	// 000000000000 by default).
	Partition, Region, Account string
}

// Template is what the local endpoints need from a synthesized CloudFormation template.
type Template struct {
	// Policies are each function's role policies (inline and attached AWS::IAM::Policy and
	// customer managed policies), keyed by function name (IngestFunctionABCD1234 → ingest).
	Policies map[string][]Policy
	// RoleNames are each function's role logical ID (without CDK's hash), for messages.
	RoleNames map[string]string
	// KMSBuckets are the local names of the buckets the template encrypts with SSE-KMS.
	KMSBuckets []string
	// Notes lists what could not be carried over (AWS managed policies, unknown intrinsics).
	Notes []string
}

type cfnTemplate struct {
	Resources map[string]struct {
		Type       string
		Properties json.RawMessage
	}
}

// cdkHash is the 8 hex digits CDK appends to a logical ID.
var cdkHash = regexp.MustCompile(`^(.+?)[0-9A-F]{8}$`)

// LoadTemplate reads a synthesized template (cdk synth's <stack>.template.json).
func LoadTemplate(path string, loc Locals) (*Template, error) {
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("iampolicy: read the template %s (make synth writes it): %w", path, err)
	}
	var t cfnTemplate
	if err := json.Unmarshal(body, &t); err != nil {
		return nil, fmt.Errorf("iampolicy: %s is not a CloudFormation template in JSON: %w", path, err)
	}
	if len(t.Resources) == 0 {
		return nil, fmt.Errorf("iampolicy: %s has no Resources", path)
	}
	r := &resolver{t: &t, loc: loc, refs: map[string]string{}}
	if r.loc.Partition == "" {
		r.loc.Partition = "aws"
	}
	if r.loc.Region == "" {
		r.loc.Region = "us-east-1"
	}
	if r.loc.Account == "" {
		r.loc.Account = "000000000000"
	}
	out := &Template{Policies: map[string][]Policy{}, RoleNames: map[string]string{}}

	// Functions first: their environment teaches the local names of what they refer to.
	roleOf := map[string]string{} // role logical ID → function name
	for _, id := range sortedIDs(&t) {
		res := t.Resources[id]
		if res.Type != "AWS::Lambda::Function" {
			continue
		}
		var p struct {
			Role        json.RawMessage
			Environment struct{ Variables map[string]json.RawMessage }
		}
		if err := json.Unmarshal(res.Properties, &p); err != nil {
			return nil, fmt.Errorf("iampolicy: function %s: %w", id, err)
		}
		name := functionName(id)
		if name == "" {
			continue
		}
		for k, v := range p.Environment.Variables {
			var ref struct{ Ref string }
			if local, ok := loc.Env[k]; ok && json.Unmarshal(v, &ref) == nil && ref.Ref != "" {
				r.refs[ref.Ref] = local
			}
		}
		var role struct {
			GetAtt []string `json:"Fn::GetAtt"`
		}
		if json.Unmarshal(p.Role, &role) != nil || len(role.GetAtt) == 0 {
			out.Notes = append(out.Notes, fmt.Sprintf("function %s: its role is not a Fn::GetAtt of a role in the template; it gets no permissions", name))
			continue
		}
		roleOf[role.GetAtt[0]] = name
		out.RoleNames[name] = strip(role.GetAtt[0])
		out.Policies[name] = nil
	}

	for _, id := range sortedIDs(&t) {
		res := t.Resources[id]
		switch res.Type {
		case "AWS::IAM::Role":
			name, ok := roleOf[id]
			if !ok {
				continue
			}
			var p struct {
				Policies          []struct{ PolicyDocument json.RawMessage }
				ManagedPolicyArns []json.RawMessage
			}
			if err := json.Unmarshal(res.Properties, &p); err != nil {
				return nil, fmt.Errorf("iampolicy: role %s: %w", id, err)
			}
			for _, ip := range p.Policies {
				doc, err := r.policy(ip.PolicyDocument)
				if err != nil {
					return nil, fmt.Errorf("iampolicy: inline policy of role %s: %w", id, err)
				}
				out.Policies[name] = append(out.Policies[name], doc)
			}
			for _, m := range p.ManagedPolicyArns {
				var ref struct{ Ref string }
				if json.Unmarshal(m, &ref) == nil && ref.Ref != "" {
					continue // a customer managed policy of this template: read with the others
				}
				arn, _ := r.value(m)
				out.Notes = append(out.Notes, fmt.Sprintf("function %s: managed policy %s is not in the template and grants nothing locally", name, arn))
			}
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy":
			var p struct {
				PolicyDocument json.RawMessage
				Roles          []json.RawMessage
			}
			if err := json.Unmarshal(res.Properties, &p); err != nil {
				return nil, fmt.Errorf("iampolicy: policy %s: %w", id, err)
			}
			for _, role := range p.Roles {
				var ref struct{ Ref string }
				if json.Unmarshal(role, &ref) != nil {
					continue
				}
				name, ok := roleOf[ref.Ref]
				if !ok {
					continue
				}
				doc, err := r.policy(p.PolicyDocument)
				if err != nil {
					return nil, fmt.Errorf("iampolicy: policy %s: %w", id, err)
				}
				out.Policies[name] = append(out.Policies[name], doc)
			}
		case "AWS::S3::Bucket":
			var p struct {
				BucketEncryption struct {
					ServerSideEncryptionConfiguration []struct {
						ServerSideEncryptionByDefault struct{ SSEAlgorithm string }
					}
				}
			}
			if err := json.Unmarshal(res.Properties, &p); err != nil {
				return nil, fmt.Errorf("iampolicy: bucket %s: %w", id, err)
			}
			for _, c := range p.BucketEncryption.ServerSideEncryptionConfiguration {
				if strings.HasPrefix(c.ServerSideEncryptionByDefault.SSEAlgorithm, "aws:kms") {
					if local, ok := r.refs[id]; ok {
						out.KMSBuckets = append(out.KMSBuckets, local)
					}
				}
			}
		}
	}
	sort.Strings(out.KMSBuckets)
	out.Notes = append(out.Notes, r.notes...)
	return out, nil
}

func sortedIDs(t *cfnTemplate) []string {
	ids := make([]string, 0, len(t.Resources))
	for id := range t.Resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func strip(id string) string {
	if m := cdkHash.FindStringSubmatch(id); m != nil {
		return m[1]
	}
	return id
}

// functionName is the function's name from its logical ID: IngestFunctionABCD1234 → ingest.
func functionName(id string) string {
	base, ok := strings.CutSuffix(strip(id), "Function")
	if !ok || base == "" {
		return ""
	}
	return strings.ToLower(base[:1]) + base[1:]
}

// resolver turns intrinsic functions into local strings.
type resolver struct {
	t     *cfnTemplate
	loc   Locals
	refs  map[string]string
	notes []string
}

// policy resolves every intrinsic in a policy document, then decodes it.
func (r *resolver) policy(raw json.RawMessage) (Policy, error) {
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return Policy{}, err
	}
	resolved, err := r.walk(doc)
	if err != nil {
		return Policy{}, err
	}
	b, _ := json.Marshal(resolved)
	var p Policy
	if err := json.Unmarshal(b, &p); err != nil {
		return Policy{}, fmt.Errorf("decode the resolved document %s: %w", b, err)
	}
	return p, nil
}

// walk replaces every intrinsic-function object in v by its string value.
func (r *resolver) walk(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return r.intrinsic(x)
				}
			}
		}
		out := map[string]any{}
		for k, e := range x {
			w, err := r.walk(e)
			if err != nil {
				return nil, err
			}
			out[k] = w
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			w, err := r.walk(e)
			if err != nil {
				return nil, err
			}
			out[i] = w
		}
		return out, nil
	}
	return v, nil
}

func (r *resolver) value(raw json.RawMessage) (string, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	w, err := r.walk(v)
	if err != nil {
		return "", err
	}
	s, ok := w.(string)
	if !ok {
		return "", fmt.Errorf("%s is not a string", raw)
	}
	return s, nil
}

func (r *resolver) intrinsic(x map[string]any) (any, error) {
	for k, arg := range x {
		switch k {
		case "Ref":
			name, _ := arg.(string)
			return r.ref(name), nil
		case "Fn::GetAtt":
			parts, _ := arg.([]any)
			if len(parts) != 2 {
				if s, ok := arg.(string); ok {
					id, attr, _ := strings.Cut(s, ".")
					return r.getAtt(id, attr), nil
				}
				return nil, fmt.Errorf("Fn::GetAtt needs [resource, attribute], got %v", arg)
			}
			id, _ := parts[0].(string)
			attr, _ := parts[1].(string)
			return r.getAtt(id, attr), nil
		case "Fn::Join":
			parts, _ := arg.([]any)
			if len(parts) != 2 {
				return nil, fmt.Errorf("Fn::Join needs [delimiter, list], got %v", arg)
			}
			delim, _ := parts[0].(string)
			list, err := r.walk(parts[1])
			if err != nil {
				return nil, err
			}
			items, _ := list.([]any)
			strs := make([]string, len(items))
			for i, it := range items {
				strs[i] = fmt.Sprint(it)
			}
			return strings.Join(strs, delim), nil
		case "Fn::Sub":
			text, vars := "", map[string]any{}
			switch a := arg.(type) {
			case string:
				text = a
			case []any:
				if len(a) == 2 {
					text, _ = a[0].(string)
					m, _ := a[1].(map[string]any)
					for name, v := range m {
						w, err := r.walk(v)
						if err != nil {
							return nil, err
						}
						vars[name] = w
					}
				}
			}
			return subVar.ReplaceAllStringFunc(text, func(m string) string {
				name := m[2 : len(m)-1]
				if strings.HasPrefix(name, "!") {
					return "${" + name[1:] + "}"
				}
				if v, ok := vars[name]; ok {
					return fmt.Sprint(v)
				}
				if id, attr, ok := strings.Cut(name, "."); ok {
					return r.getAtt(id, attr)
				}
				return r.ref(name)
			}), nil
		case "Fn::Select":
			parts, _ := arg.([]any)
			if len(parts) == 2 {
				list, err := r.walk(parts[1])
				if err != nil {
					return nil, err
				}
				items, _ := list.([]any)
				var i int
				fmt.Sscan(fmt.Sprint(parts[0]), &i)
				if i >= 0 && i < len(items) {
					return items[i], nil
				}
			}
			return nil, fmt.Errorf("Fn::Select: cannot select from %v", arg)
		case "Fn::Split":
			parts, _ := arg.([]any)
			if len(parts) == 2 {
				delim, _ := parts[0].(string)
				s, err := r.walk(parts[1])
				if err != nil {
					return nil, err
				}
				var out []any
				for _, p := range strings.Split(fmt.Sprint(s), delim) {
					out = append(out, p)
				}
				return out, nil
			}
		}
		r.notes = append(r.notes, fmt.Sprintf("intrinsic %s is not resolved locally; the value stays unmatched", k))
		return "unresolved:" + k, nil
	}
	return nil, nil
}

var subVar = regexp.MustCompile(`\$\{[^}]+\}`)

func (r *resolver) ref(name string) string {
	switch name {
	case "AWS::Partition":
		return r.loc.Partition
	case "AWS::Region":
		return r.loc.Region
	case "AWS::AccountId":
		return r.loc.Account
	case "AWS::URLSuffix":
		return "amazonaws.com"
	case "AWS::NoValue":
		return ""
	}
	res, ok := r.t.Resources[name]
	if !ok {
		// A parameter: its logical ID stands for its value.
		return name
	}
	switch res.Type {
	case "AWS::SecretsManager::Secret", "AWS::IAM::ManagedPolicy", "AWS::SNS::Topic":
		return r.getAtt(name, "Arn") // their Ref is their ARN
	}
	return r.physical(name)
}

// physical is a resource's local name: the value of the function variable that refers to it,
// or else its logical ID without CDK's hash, in lower case.
func (r *resolver) physical(id string) string {
	if v, ok := r.refs[id]; ok {
		return v
	}
	return strings.ToLower(strip(id))
}

// getAtt gives the ARN of a resource under the local names; other attributes resolve to
// "<logical ID>.<attribute>", which matches nothing but reads well in a message.
func (r *resolver) getAtt(id, attr string) string {
	res, ok := r.t.Resources[id]
	if !ok || attr != "Arn" {
		return id + "." + attr
	}
	name := r.physical(id)
	arn := func(service, resource string) string {
		return strings.Join([]string{"arn", r.loc.Partition, service, r.loc.Region, r.loc.Account, resource}, ":")
	}
	switch res.Type {
	case "AWS::S3::Bucket":
		return "arn:" + r.loc.Partition + ":s3:::" + name
	case "AWS::Kinesis::Stream":
		return arn("kinesis", "stream/"+name)
	case "AWS::KMS::Key":
		return arn("kms", "key/"+strip(id))
	case "AWS::Logs::LogGroup":
		return arn("logs", "log-group:"+name+":*")
	case "AWS::SQS::Queue":
		return arn("sqs", name)
	case "AWS::SNS::Topic":
		return arn("sns", strip(id))
	case "AWS::SecretsManager::Secret":
		return arn("secretsmanager", "secret:"+strip(id))
	case "AWS::Lambda::Function":
		return arn("lambda", "function:"+name)
	case "AWS::IAM::Role":
		return "arn:" + r.loc.Partition + ":iam::" + r.loc.Account + ":role/" + strip(id)
	case "AWS::IAM::ManagedPolicy":
		return "arn:" + r.loc.Partition + ":iam::" + r.loc.Account + ":policy/" + strip(id)
	}
	service := strings.ToLower(strings.TrimPrefix(res.Type, "AWS::"))
	service, _, _ = strings.Cut(service, "::")
	return arn(service, strip(id))
}

// Functions lists the template's function names.
func (t *Template) Functions() []string {
	names := make([]string, 0, len(t.Policies))
	for n := range t.Policies {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
