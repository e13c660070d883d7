package lakehost

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelake/sluice/shared/catalog"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/zone"
)

// Catalog is the lake's catalog (GET /datasets) as the deployed query function has it: the
// zones read over S3 with the query function's credentials, so that with a template the IAM
// front authorizes every listing and footer read against the query role's policies, as AWS
// would. Without a template it reads with the stand-in's own credentials.
func (l *Lake) Catalog() (*catalog.Catalog, error) {
	endpoint := l.S3.Endpoint()
	if l.IAM != nil {
		endpoint = l.IAM.Endpoint
	}
	key, secret, err := l.credentialsOf("query")
	if err != nil {
		return nil, err
	}
	client := s3.NewFromConfig(aws.Config{Region: l.S3.Region, Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""),
		HTTPClient: awshttp.NewBuildableClient()}, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
		o.DisableLogOutputChecksumValidationSkipped = true // stand-ins send no checksums
	})
	stores := map[zone.Zone]objectstore.Store{}
	for _, z := range zone.All {
		stores[z] = s3store.New(client, Buckets[z])
	}
	return &catalog.Catalog{Contracts: l.cfg.Contracts, Stores: stores}, nil
}
