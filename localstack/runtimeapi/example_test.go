package runtimeapi_test

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/sluicelake/sluice/localstack/runtimeapi"
)

func Example() {
	// handlers/sleep is a bootstrap built with `go build -tags lambda.norpc`.
	fn, err := runtimeapi.Start(context.Background(), runtimeapi.Config{
		Name:    "sleepy",
		Binary:  filepath.Join(handlers, "sleep"),
		Timeout: 100 * time.Millisecond,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer fn.Close()

	res, _ := fn.Invoke(context.Background(), []byte(`{"ms":1}`))
	fmt.Printf("%s %v\n", res.Payload, res.FunctionError)

	res, _ = fn.Invoke(context.Background(), []byte(`{"ms":5000}`))
	fmt.Println(res.FunctionError.ErrorType)
	// Output:
	// "slept" <nil>
	// Sandbox.Timedout
}
