// Command consolecmd serves the web console against a deployed lake: `make console
// URL=<ApiUrl>`. It listens on 127.0.0.1 only, serves the console's page, and forwards the
// page's API calls to the deployed API signed (SigV4, service execute-api) with the AWS
// credentials of this shell, so the browser never holds AWS keys.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/sluicelake/sluice/localstack/console"
	"github.com/sluicelake/sluice/shared/awsconfig"
	"github.com/sluicelake/sluice/shared/query/api"
)

// apiHost is an API Gateway endpoint's host, which names its region.
var apiHost = regexp.MustCompile(`^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$`)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// regionOf is the region an API Gateway endpoint's host names, or "".
func regionOf(host string) string {
	if m := apiHost.FindStringSubmatch(host); m != nil {
		return m[1]
	}
	return ""
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("console", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("url", "", "the deployed API's URL (the stack's ApiUrl output), e.g. https://abc123.execute-api.eu-west-1.amazonaws.com")
	addr := fs.String("addr", "127.0.0.1:8089", "where the console listens (loopback only)")
	region := fs.String("region", "", "the API's region (default: from the URL, else the AWS configuration)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	u, err := url.Parse(*target)
	if *target == "" || err != nil || u.Scheme == "" || u.Host == "" {
		fmt.Fprintln(stderr, "console: give the deployed API's URL: make console URL=https://<id>.execute-api.<region>.amazonaws.com (the stack's ApiUrl output)")
		return 2
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		fmt.Fprintf(stderr, "console: listen on a loopback address such as 127.0.0.1:8089, not %q: the proxy signs with your credentials\n", *addr)
		return 2
	}
	if *region == "" {
		*region = regionOf(u.Hostname())
	}
	var opts []func(*config.LoadOptions) error
	if *region != "" {
		opts = append(opts, config.WithRegion(*region))
	}
	cfg, err := awsconfig.Load(ctx, opts...)
	if err != nil {
		fmt.Fprintln(stderr, "console:", err)
		return 1
	}
	if cfg.Region == "" {
		fmt.Fprintln(stderr, "console: no region: give -region or set AWS_REGION")
		return 2
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		fmt.Fprintf(stderr, "console: no AWS credentials to sign with (%v): run aws configure, or set AWS_PROFILE\n", err)
		return 1
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "console:", err)
		return 1
	}
	srv := &http.Server{Handler: console.Proxy(l.Addr().String(), u, api.SigV4(cfg.Credentials, cfg.Region), cfg.HTTPClient),
		ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	fmt.Fprintf(stdout, "console: http://%s%s (API %s, region %s, signed with your AWS credentials; Ctrl-C stops)\n", l.Addr(), console.Path, u, cfg.Region)
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, "console:", err)
		return 1
	}
	return 0
}
