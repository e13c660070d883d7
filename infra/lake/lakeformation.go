package lake

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslakeformation"
	"github.com/aws/jsii-runtime-go"

	"github.com/sluicelake/sluice/shared/access"
	"github.com/sluicelake/sluice/shared/audit"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/lineage/table"
)

// The LF-tags the catalog carries under Lake Formation: every table its dataset and zone, every
// column its PII class (from the contract's sluice.pii), so that a grant reads as the access
// file does: these datasets, these zones, these PII classes.
const (
	LFTagDataset = "sluice_dataset"
	LFTagZone    = "sluice_zone"
	LFTagPII     = "sluice_pii"
)

var lfZones = []string{"raw", "cleansed", "curated", string(table.Zone), string(audit.Zone)}

var lfPII = []string{string(contract.Keep), string(contract.Mask), string(contract.Hash), string(contract.Drop)}

// LFPrincipal turns an access file's caller pattern into a Lake Formation principal, which must
// be one ARN: a pattern whose only wildcard is the account becomes this account's ARN; any
// other pattern cannot be granted, and says so (ok false).
func LFPrincipal(pattern, account string) (string, bool) {
	parts := strings.SplitN(pattern, ":", 6)
	if len(parts) == 6 && parts[4] == "*" && !strings.Contains(parts[5], "*") {
		parts[4] = account
		return strings.Join(parts, ":"), true
	}
	return pattern, !strings.Contains(pattern, "*")
}

// newLakeFormation puts the catalog under Lake Formation (lakeFormation=true): LF-tags from the
// contracts, grants from the access files, the query function granted every table (it enforces
// the access files itself) and the Firehose roles the raw archive tables they convert into, so
// that an Athena user outside the API reads what the access files give them and nothing else.
func newLakeFormation(stack awscdk.Stack, s Settings, l *Lake, contracts []*contract.Contract, policy *access.Policy) {
	if !s.LakeFormation {
		return
	}
	account, partition := *stack.Account(), *stack.Partition()
	// The deployment role must administer Lake Formation to create tags and grants. APPEND
	// keeps the account's other administrators. Empty default permissions stop new tables
	// from granting IAMAllowedPrincipals everything, which would leave IAM in charge.
	admins := append([]string{fmt.Sprintf("arn:%s:iam::%s:role/cdk-%s-cfn-exec-role-%s-%s", partition, account,
		*awscdk.DefaultStackSynthesizer_DEFAULT_QUALIFIER(), account, *stack.Region())}, s.LakeFormationAdmins...)
	var adminList []interface{}
	for _, a := range admins {
		adminList = append(adminList, &awslakeformation.CfnDataLakeSettings_DataLakePrincipalProperty{DataLakePrincipalIdentifier: jsii.String(a)})
	}
	settings := awslakeformation.NewCfnDataLakeSettings(stack, jsii.String("LakeFormationSettings"), &awslakeformation.CfnDataLakeSettingsProps{
		Admins:                           &adminList,
		MutationType:                     jsii.String("APPEND"),
		CreateDatabaseDefaultPermissions: &[]interface{}{},
		CreateTableDefaultPermissions:    &[]interface{}{},
	})
	l.Catalog.Database.AddDependency(settings)

	// Lake Formation reads the zones for Athena with its service-linked role, which needs the
	// lake key.
	slr := fmt.Sprintf("arn:%s:iam::%s:role/aws-service-role/lakeformation.amazonaws.com/AWSServiceRoleForLakeFormationDataAccess", partition, account)
	l.Key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("LakeFormationReadsTheZones"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewArnPrincipal(jsii.String(slr))},
		Actions:    jsii.Strings("kms:Decrypt"),
		Resources:  jsii.Strings("*"),
	}), nil)
	st := l.Storage
	for id, b := range map[string]awscdkBucket{"Raw": st.Raw, "Cleansed": st.Cleansed, "Curated": st.Curated, "Lineage": st.Lineage, "Audit": st.Audit} {
		loc := awslakeformation.NewCfnResource(stack, jsii.String("LakeFormationLocation"+id), &awslakeformation.CfnResourceProps{
			ResourceArn:          b.BucketArn(),
			UseServiceLinkedRole: jsii.Bool(true),
		})
		loc.AddDependency(settings)
	}

	datasets := []string{table.Dataset, audit.Dataset}
	for _, c := range contracts {
		datasets = append(datasets, c.Name)
	}
	sort.Strings(datasets)
	tags := map[string][]string{LFTagDataset: datasets, LFTagZone: lfZones, LFTagPII: lfPII}
	var tagResources []awscdk.CfnResource
	for _, key := range []string{LFTagDataset, LFTagZone, LFTagPII} {
		t := awslakeformation.NewCfnTag(stack, jsii.String("LFTag-"+key), &awslakeformation.CfnTagProps{
			CatalogId: jsii.String(account), TagKey: jsii.String(key), TagValues: jsii.Strings(tags[key]...),
		})
		t.AddDependency(settings)
		tagResources = append(tagResources, t)
	}
	pair := func(key string, values ...string) *awslakeformation.CfnTagAssociation_LFTagPairProperty {
		return &awslakeformation.CfnTagAssociation_LFTagPairProperty{CatalogId: jsii.String(account), TagKey: jsii.String(key), TagValues: jsii.Strings(values...)}
	}
	for _, name := range sortedKeys(l.Catalog.Tables) {
		tbl := l.Catalog.Tables[name]
		zone, dataset, _ := strings.Cut(name, "_")
		ct := l.Catalog.Contracts[name]
		assoc := awslakeformation.NewCfnTagAssociation(stack, jsii.String("LFTags-"+name), &awslakeformation.CfnTagAssociationProps{
			LfTags: &[]interface{}{pair(LFTagDataset, dataset), pair(LFTagZone, zone)},
			Resource: &awslakeformation.CfnTagAssociation_ResourceProperty{Table: &awslakeformation.CfnTagAssociation_TableResourceProperty{
				CatalogId: jsii.String(account), DatabaseName: jsii.String(l.Catalog.Name), Name: jsii.String(name)}},
		})
		assoc.AddDependency(tbl)
		for _, t := range tagResources {
			assoc.AddDependency(t)
		}
		if ct == nil {
			continue
		}
		byClass := map[string][]string{}
		for _, f := range ct.Fields {
			class := string(f.PII)
			if class == "" {
				class = string(contract.Keep)
			}
			byClass[class] = append(byClass[class], f.Name)
		}
		for _, class := range lfPII {
			cols := byClass[class]
			if len(cols) == 0 {
				continue
			}
			ca := awslakeformation.NewCfnTagAssociation(stack, jsii.String("LFTags-"+name+"-"+class), &awslakeformation.CfnTagAssociationProps{
				LfTags: &[]interface{}{pair(LFTagPII, class)},
				Resource: &awslakeformation.CfnTagAssociation_ResourceProperty{TableWithColumns: &awslakeformation.CfnTagAssociation_TableWithColumnsResourceProperty{
					CatalogId: jsii.String(account), DatabaseName: jsii.String(l.Catalog.Name), Name: jsii.String(name), ColumnNames: jsii.Strings(cols...)}},
			})
			ca.AddDependency(assoc)
		}
	}

	grant := func(id, principal string, expr map[string][]string, perms ...string) {
		var e []interface{}
		for _, k := range []string{LFTagDataset, LFTagZone, LFTagPII} {
			if v, ok := expr[k]; ok {
				e = append(e, &awslakeformation.CfnPrincipalPermissions_LFTagProperty{TagKey: jsii.String(k), TagValues: jsii.Strings(v...)})
			}
		}
		p := awslakeformation.NewCfnPrincipalPermissions(stack, jsii.String(id), &awslakeformation.CfnPrincipalPermissionsProps{
			Catalog:                    jsii.String(account),
			Permissions:                jsii.Strings(perms...),
			PermissionsWithGrantOption: &[]*string{},
			Principal:                  &awslakeformation.CfnPrincipalPermissions_DataLakePrincipalProperty{DataLakePrincipalIdentifier: jsii.String(principal)},
			Resource: &awslakeformation.CfnPrincipalPermissions_ResourceProperty{LfTagPolicy: &awslakeformation.CfnPrincipalPermissions_LFTagPolicyResourceProperty{
				CatalogId: jsii.String(account), ResourceType: jsii.String("TABLE"), Expression: &e}},
		})
		for _, t := range tagResources {
			p.AddDependency(t)
		}
	}
	// The query function enforces the access files itself, so it reads every table; Firehose
	// converts records with the raw archive table's schema.
	grant("LFGrant-QueryFunction", *l.Functions["query"].Role().RoleArn(), map[string][]string{LFTagZone: lfZones}, "SELECT", "DESCRIBE")
	for _, str := range append([]*Stream{l.Stream}, streamsOf(l)...) {
		if str.Firehose != nil && str.Archived != "" {
			grant("LFGrant-"+*str.Role.Node().Id(), *str.Role.RoleArn(), map[string][]string{LFTagDataset: {str.Archived}, LFTagZone: {"raw"}}, "SELECT", "DESCRIBE")
		}
	}
	// Every caller of the API reads curated and lineage; the same holds for them in Athena.
	defaults := []string{*l.API.CallerRole.RoleArn()}
	for _, g := range policy.Grants() {
		for _, c := range g.Callers {
			if p, ok := LFPrincipal(c, account); ok && !slices.Contains(defaults, p) {
				defaults = append(defaults, p)
			}
		}
	}
	for i, p := range defaults {
		grant(fmt.Sprintf("LFGrant-Default%d", i), p, map[string][]string{LFTagZone: {"curated", string(table.Zone)}}, "SELECT", "DESCRIBE")
	}
	// Each access-file grant: its datasets, zones and, outside curated, its PII classes.
	for gi, g := range policy.Grants() {
		ds := g.Datasets
		if slices.Contains(ds, "*") {
			ds = datasets
		}
		var zones []string
		for _, z := range g.Zones {
			if z != "curated" && z != table.Zone {
				zones = append(zones, string(z))
			}
		}
		classes := []string{string(contract.Keep)}
		for _, c := range g.PII {
			if c == "*" {
				classes = lfPII
				break
			}
			classes = append(classes, string(c))
		}
		if len(zones) == 0 {
			continue
		}
		for ci, c := range g.Callers {
			p, ok := LFPrincipal(c, account)
			if !ok {
				awscdk.Annotations_Of(stack).AddWarningV2(jsii.String("sluice:lake-formation-caller"), jsii.String(fmt.Sprintf(
					"%s grant %q: caller %q is a pattern Lake Formation cannot grant (one ARN per principal); it reaches the data through the API only", g.File(), g.Name, c)))
				continue
			}
			grant(fmt.Sprintf("LFGrant-%d-%d", gi, ci), p, map[string][]string{LFTagDataset: ds, LFTagZone: zones, LFTagPII: classes}, "SELECT", "DESCRIBE")
		}
	}
}

// awscdkBucket is what a data location needs of a bucket.
type awscdkBucket interface{ BucketArn() *string }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// streamsOf is the datasets' own streams, in dataset order.
func streamsOf(l *Lake) []*Stream {
	var out []*Stream
	for _, d := range sortedKeys(l.DatasetStreams) {
		out = append(out, l.DatasetStreams[d])
	}
	return out
}
