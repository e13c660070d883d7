// Command querycmd sends a structured query to the query API, local or deployed, and prints the
// rows as a table: `make query Q=query.json URL=http://127.0.0.1:8088` (SIGV4=1 for AWS). With
// -lineage dataset=user_events (or object=s3://bucket/key) it prints that lineage graph as a
// Mermaid flowchart instead, from the local lake's API at 127.0.0.1:8088 unless -url says otherwise.
package main

import (
	"os"

	"github.com/sluicelake/sluice/shared/query/api"
)

func main() {
	os.Exit(api.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
