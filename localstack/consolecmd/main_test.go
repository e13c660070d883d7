package main

import (
	"context"
	"strings"
	"testing"
)

func TestRegionOf(t *testing.T) {
	for host, want := range map[string]string{
		"abc123.execute-api.eu-west-1.amazonaws.com":     "eu-west-1",
		"abc123.execute-api.cn-north-1.amazonaws.com.cn": "cn-north-1",
		"api.example.com": "",
		"abc123.execute-api.eu-west-1.amazonaws.com.evil.example": "",
	} {
		if got := regionOf(host); got != want {
			t.Errorf("regionOf(%s) = %q, want %q", host, got, want)
		}
	}
}

// TestRefuses: without an API URL, or asked to listen beyond loopback (the proxy signs with the
// user's credentials for whoever reaches it), the command stops and says why, before loading
// any credentials.
func TestRefuses(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{nil, "give the deployed API's URL"},
		{[]string{"-url", "not a url"}, "give the deployed API's URL"},
		{[]string{"-url", "https://abc.execute-api.eu-west-1.amazonaws.com", "-addr", "0.0.0.0:8089"}, "loopback"},
		{[]string{"-url", "https://abc.execute-api.eu-west-1.amazonaws.com", "-addr", "192.168.1.2:8089"}, "loopback"},
	} {
		var out, errs strings.Builder
		if code := run(context.Background(), tc.args, &out, &errs); code != 2 || !strings.Contains(errs.String(), tc.msg) {
			t.Errorf("%v: exit %d, %q; want 2 saying %s", tc.args, code, errs.String(), tc.msg)
		}
	}
}
