package contract

import (
	"math/rand/v2"
	"regexp"
	"testing"
)

// The fast matcher must agree with the regexp engine on every input.
func TestMatcherAgreesWithRegexp(t *testing.T) {
	patterns := []string{
		`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`, `^u_[0-9]{1,12}$`, `^[A-Z]{3}$`, `^/`,
		`^[^@\s]+@[^@\s]+\.[^@\s]+$`, `^[0-9+()\-. x]{7,30}$`, `^a*b?c+$`, `^[a-z]+[a-z0-9]*$`, `x[0-9]`, `^(ab|cd)$`, `^é{2}$`,
	}
	alphabet := []byte("abcdefu_0123456789-/@. xABCDEZ+()é\n")
	rng := rand.New(rand.NewPCG(1, 1))
	fast := 0
	for _, p := range patterns {
		m, err := compileMatcher(p)
		if err != nil {
			t.Fatal(err)
		}
		if m.steps != nil {
			fast++
		}
		re := regexp.MustCompile(p)
		for i := 0; i < 20000; i++ {
			b := make([]byte, rng.IntN(40))
			for j := range b {
				b[j] = alphabet[rng.IntN(len(alphabet))]
			}
			if i%3 == 0 && len(b) > 0 { // inputs that often match: derived from the pattern's own shape
				b = []byte("6f1c2b7e-3f0a-4c2e-9d1b-0a8e5c4d3b2a")[:min(36, len(b)+10)]
			}
			if m.Match(b) != re.Match(b) {
				t.Fatalf("%s on %q: fast %v, regexp %v", p, b, m.Match(b), re.Match(b))
			}
		}
		for _, s := range []string{"6f1c2b7e-3f0a-4c2e-9d1b-0a8e5c4d3b2a", "u_42", "EUR", "/cart", "a@b.co", "+44 20 7946 0958", "éé"} {
			if m.Match([]byte(s)) != re.MatchString(s) {
				t.Fatalf("%s on %q disagrees", p, s)
			}
		}
	}
	if fast < 6 {
		t.Errorf("only %d patterns took the fast path", fast)
	}
}
