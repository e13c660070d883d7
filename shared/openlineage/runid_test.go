package openlineage_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/sluicelake/sluice/shared/openlineage"
)

func TestNewRunIDIsDeterministicVersion5(t *testing.T) {
	a := openlineage.NewRunID("raw", "landing/a.csv", "etag-1")
	if a != openlineage.NewRunID("raw", "landing/a.csv", "etag-1") {
		t.Fatal("same parts, different ids")
	}
	if a == openlineage.NewRunID("raw", "landing/a.csv", "etag-2") {
		t.Fatal("different parts, same id")
	}
	if openlineage.NewRunID("ab", "c") == openlineage.NewRunID("a", "bc") {
		t.Fatal("parts are not separated")
	}
	u, err := uuid.Parse(a)
	if err != nil {
		t.Fatal(err)
	}
	if u.Version() != 5 || u.Variant() != uuid.RFC4122 {
		t.Errorf("%s: version %d variant %v, want 5 RFC4122", a, u.Version(), u.Variant())
	}
	// Cross-check against an independent implementation of RFC 4122 §4.3.
	ns := uuid.MustParse("bc58867d-3f91-a22d-6ea6-f06e65ebee91")
	if want := uuid.NewSHA1(ns, []byte("raw\x00landing/a.csv\x00etag-1")).String(); a != want {
		t.Errorf("NewRunID = %s, want %s", a, want)
	}
}

func TestIsUUID(t *testing.T) {
	for s, want := range map[string]bool{
		openlineage.NewRunID("x"):                true,
		"0190C3A2-7B1E-7000-8000-000000000000":   true,
		"":                                       false,
		"run-42":                                 false,
		"0190c3a2-7b1e-7000-8000-00000000000":    false,
		"0190c3a2x7b1e-7000-8000-000000000000":   false,
		"0190c3a2-7b1e-7000-8000-00000000000g":   false,
		"{0190c3a2-7b1e-7000-8000-000000000000}": false,
	} {
		if got := openlineage.IsUUID(s); got != want {
			t.Errorf("IsUUID(%q) = %v, want %v", s, got, want)
		}
	}
}
