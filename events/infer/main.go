// Command infer drafts a dataset's contract from a sample file (JSON lines, CSV or Parquet) and
// writes it as events/<dataset>.avsc, or to -o (- for standard output). It never overwrites a
// contract: a shipped contract changes by hand, through the evolution gate.
//
//	go run ./events/infer [-dataset name] [-o path] sample.jsonl
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sluicelake/sluice/shared/contract/infer"
)

func main() {
	dataset := flag.String("dataset", "", "the dataset's name (default: from the sample's file name)")
	out := flag.String("o", "", "where to write the contract: a path, or - for standard output (default: events/<dataset>.avsc)")
	maxEnum := flag.Int("max-enum", 10, "the most distinct values a string column may have to become an enum")
	zone := flag.String("zone", "UTC", "the IANA zone that timestamps written without a zone are read in")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: infer [flags] SAMPLE (.jsonl, .ndjson, .json, .csv or .parquet)")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *dataset, *out, infer.Options{MaxEnum: *maxEnum, NaiveZone: *zone}); err != nil {
		fmt.Fprintln(os.Stderr, "infer:", err)
		os.Exit(1)
	}
}

func run(sample, dataset, out string, opts infer.Options) error {
	opts.Dataset = dataset
	avsc, err := infer.File(sample, opts)
	if err != nil {
		return err
	}
	if out == "-" {
		_, err := os.Stdout.Write(avsc)
		return err
	}
	if out == "" {
		name, err := infer.DatasetOf(avsc)
		if err != nil {
			return err
		}
		out = filepath.Join("events", name+".avsc")
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s exists: infer drafts new contracts only (write elsewhere with -o, or edit the contract by hand)", out)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.WriteFile(out, avsc, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s: check each field's doc, then `go test ./events/` loads it with the others\n", out)
	return nil
}
