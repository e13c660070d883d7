// Command build builds the named functions as the CDK app does (see infra/bundle), for the
// Makefile's `build` target: go run ./infra/bundle/cmd/build -arch amd64 -out .build/amd64 ingest ...
// writes .build/amd64/ingest/bootstrap and so on.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"

	"github.com/sluicelake/sluice/infra/bundle"
)

func main() {
	arch := flag.String("arch", runtime.GOARCH, "GOARCH to build for (Lambda runs arm64)")
	out := flag.String("out", "", "folder to write <function>/bootstrap into")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: build -arch arm64 -out DIR FUNCTION...")
		os.Exit(2)
	}
	root, err := bundle.ModuleRoot(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, name := range flag.Args() {
		r, err := bundle.Function(context.Background(), root, *out, name, *arch)
		if err == nil && r.Placeholder {
			err = fmt.Errorf("functions/%s has no Go files: nothing to build", name)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
