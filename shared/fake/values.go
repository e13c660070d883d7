package fake

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sluicelake/sluice/shared/contract"
)

// orderSymbols are enum values meaning an order happened: with one of them in a record, the
// commerce fields (amount, currency, quantity, price) are filled, and otherwise left null.
var orderSymbols = []string{"purchase", "add_to_cart", "checkout", "order", "refund"}

var commerceNames = []string{"amount", "currency", "quantity", "price", "total", "revenue"}

var pages = []string{"/", "/", "/home", "/search", "/cart", "/checkout", "/account", "/login",
	"/signup", "/help", "/about", "/blog", "/deals", "/orders", "/wishlist"}

var pageSections = []string{"products", "category", "blog", "brands", "orders"}

var referrers = []string{"https://www.google.com/", "https://www.bing.com/", "https://duckduckgo.com/",
	"https://t.co/", "https://www.facebook.com/", "https://news.ycombinator.com/", "https://www.reddit.com/"}

var propKeys = map[string][]string{
	"utm_source":   {"google", "newsletter", "twitter", "facebook", "partner"},
	"utm_campaign": {"black_friday", "spring_sale", "retargeting", "launch"},
	"ab_variant":   {"A", "B"},
	"locale":       {"en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "pt-BR", "ja-JP"},
	"app_version":  {"4.2.0", "4.2.1", "4.3.0", "5.0.0-beta"},
	"theme":        {"light", "dark"},
}

// plan chooses how field f's values are made and checks that its rules can be met.
func (g *Generator) plan(f *contract.Field) (fieldGen, error) {
	fg := fieldGen{f: f, presence: 0.85}
	name := strings.ToLower(f.Name)
	fg.commerce = f.Nullable && g.gate >= 0 && contains(commerceNames, name)
	switch f.Kind {
	case contract.String:
		fg.gen = g.stringGen(f, name)
		if f.Rules.Pattern != nil {
			p := f.Rules.Pattern.String()
			fg.fallback = func(g *Generator) any { return g.f.Regex(p) }
		} else {
			fg.fallback = func(g *Generator) any { return fitLength(f, g.f.LoremIpsumWord()) }
		}
	case contract.Enum:
		// Earlier symbols are more common, as in real traffic (page views outnumber purchases).
		weights := make([]float64, len(f.Symbols))
		total := 0.0
		for i := range weights {
			weights[i] = 1 / float64(i+1)
			total += weights[i]
		}
		fg.gen = func(g *Generator) any {
			x := g.f.Float64() * total
			for i, w := range weights {
				if x < w {
					return f.Symbols[i]
				}
				x -= w
			}
			return f.Symbols[len(f.Symbols)-1]
		}
	case contract.Int, contract.Long:
		lo, hi, err := numRange(f, name)
		if err != nil {
			return fg, err
		}
		ilo, ihi := int64(math.Ceil(lo)), int64(math.Floor(hi))
		if ilo > ihi {
			return fg, fmt.Errorf("no whole number lies between min %v and max %v", lo, hi)
		}
		span := uint64(ihi-ilo) + 1 // 0 when the range is all of int64
		fg.gen = func(g *Generator) any {
			if span == 0 {
				return int64(g.f.Uint64())
			}
			return ilo + int64(g.f.Uint64()%span)
		}
	case contract.Float, contract.Double:
		lo, hi, err := numRange(f, name)
		if err != nil {
			return fg, err
		}
		fg.gen = func(g *Generator) any {
			x := lo + g.f.Float64()*(hi-lo)
			// Cents read like money; a value rounded past a bound is pulled back inside.
			if r := math.Round(x*100) / 100; r >= lo && r <= hi {
				x = r
			}
			return x
		}
	case contract.Boolean:
		share := 0.5
		if strings.HasPrefix(name, "is_") || strings.HasPrefix(name, "has_") {
			share = 0.05
		}
		fg.gen = func(g *Generator) any { return g.f.Float64() < share }
	case contract.Timestamp:
		fg.gen = func(g *Generator) any { return g.timestamp() }
	case contract.Date:
		back := 365 * 24 * time.Hour
		if strings.Contains(name, "birth") || name == "dob" {
			back = 80 * 365 * 24 * time.Hour
		}
		fg.gen = func(g *Generator) any {
			t := g.now.Add(-time.Duration(g.f.Float64() * float64(back)))
			return t.UTC().Format(time.DateOnly)
		}
	case contract.StringMap:
		keys := make([]string, 0, len(propKeys))
		for k := range propKeys {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		fg.gen = func(g *Generator) any {
			m := map[string]string{}
			for n := 1 + g.f.IntN(3); len(m) < n; {
				k := keys[g.f.IntN(len(keys))]
				vs := propKeys[k]
				m[k] = vs[g.f.IntN(len(vs))]
			}
			return m
		}
	default:
		return fg, fmt.Errorf("kind %v is not supported by the generator", f.Kind)
	}
	// Find a value that passes, proving the rules can be met, and keep it as the last resort.
	for try := 0; try < 64; try++ {
		v := fg.gen(g)
		if try >= 32 && fg.fallback != nil {
			v = fg.fallback(g)
		}
		if ok(f, v) {
			fg.known = v
			return fg, nil
		}
	}
	return fg, fmt.Errorf("cannot generate a value that passes its rules (%s); loosen the rules or name the field after what it holds", describeRules(f))
}

// stringGen picks a realistic maker by the field's name.
func (g *Generator) stringGen(f *contract.Field, name string) func(g *Generator) any {
	has := func(s string) bool { return strings.Contains(name, s) }
	pattern := ""
	if f.Rules.Pattern != nil {
		pattern = f.Rules.Pattern.String()
	}
	switch {
	case name == "uuid" || name == "id" || name == "event_id" || strings.HasSuffix(name, "_uuid") || strings.Contains(pattern, "[0-9a-f]{8}-"):
		return func(g *Generator) any { return g.f.UUID() }
	case has("email"):
		return func(g *Generator) any { return g.f.Email() }
	case has("phone") || name == "mobile":
		return func(g *Generator) any { return g.f.PhoneFormatted() }
	case name == "last_name" || name == "surname" || name == "family_name" || name == "lastname":
		return func(g *Generator) any { return g.f.LastName() }
	case name == "full_name":
		return func(g *Generator) any { return g.f.Name() }
	case name == "name" || name == "first_name" || name == "firstname" || name == "given_name":
		return func(g *Generator) any { return g.f.FirstName() }
	case name == "user_id" || name == "customer_id" || name == "account_id":
		// A bounded population, so that users come back: sessions and dedupe look real.
		prefix := strings.SplitN(name, "_", 2)[0][:1] + "_"
		if f.Rules.Pattern != nil && !f.Rules.Pattern.MatchString(prefix+"1") {
			prefix = ""
		}
		return func(g *Generator) any { return fmt.Sprintf("%s%d", prefix, 1+g.f.IntN(50000)) }
	case has("session"):
		return func(g *Generator) any { return fmt.Sprintf("s_%016x", g.f.Uint64()) }
	case has("country"):
		return func(g *Generator) any { return g.f.CountryAbr() }
	case has("currency"):
		return func(g *Generator) any {
			// Most shops sell in a few currencies.
			if c := []string{"USD", "EUR", "GBP"}; g.f.Float64() < 0.8 {
				return c[g.f.IntN(len(c))]
			}
			return g.f.CurrencyShort()
		}
	case name == "ip" || has("ip_address") || name == "client_ip":
		return func(g *Generator) any {
			if g.f.Float64() < 0.85 {
				return g.f.IPv4Address()
			}
			return g.f.IPv6Address()
		}
	case name == "page" || name == "path" || has("page_path") || name == "url_path":
		return func(g *Generator) any {
			if g.f.Float64() < 0.5 {
				return pages[g.f.IntN(len(pages))]
			}
			return fmt.Sprintf("/%s/%d", pageSections[g.f.IntN(len(pageSections))], 1+g.f.IntN(9999))
		}
	case has("referrer") || has("referer") || has("url"):
		return func(g *Generator) any {
			if g.f.Float64() < 0.6 {
				return referrers[g.f.IntN(len(referrers))]
			}
			return g.f.URL()
		}
	case has("user_agent"):
		return func(g *Generator) any { return g.f.UserAgent() }
	case has("city"):
		return func(g *Generator) any { return g.f.City() }
	case has("company"):
		return func(g *Generator) any { return g.f.Company() }
	case has("product"):
		return func(g *Generator) any { return g.f.ProductName() }
	case pattern != "":
		return func(g *Generator) any { return g.f.Regex(pattern) }
	}
	return func(g *Generator) any { return fitLength(f, g.f.Word()) }
}

// timestamp draws an event time in [now-spread, now], as RFC 3339 with milliseconds. Most carry
// Z; some carry the producer's local offset, which is just as valid on the wire.
func (g *Generator) timestamp() string {
	t := g.now.Add(-time.Duration(g.f.Float64() * float64(g.opts.Spread))).Truncate(time.Millisecond)
	loc := time.UTC
	if g.f.Float64() < 0.1 {
		offsets := []int{-5, -3, 1, 2, 5, 9}
		h := offsets[g.f.IntN(len(offsets))]
		loc = time.FixedZone("", h*3600)
	}
	return t.In(loc).Format("2006-01-02T15:04:05.000Z07:00")
}

// numRange is where a number field's values are drawn from: a believable range for its name,
// kept inside the contract's bounds.
func numRange(f *contract.Field, name string) (lo, hi float64, err error) {
	lo, hi = 0, 1000
	switch {
	case contains([]string{"amount", "price", "total", "revenue"}, name):
		lo, hi = 1, 500
	case contains([]string{"quantity", "qty", "count", "items"}, name):
		lo, hi = 1, 5
	case name == "age":
		lo, hi = 18, 90
	case strings.Contains(name, "rating") || strings.Contains(name, "score"):
		lo, hi = 1, 5
	}
	switch f.Kind {
	case contract.Int:
		lo, hi = math.Max(lo, math.MinInt32), math.Min(hi, math.MaxInt32)
	case contract.Float:
		lo, hi = math.Max(lo, -math.MaxFloat32), math.Min(hi, math.MaxFloat32)
	}
	rlo, rhi := math.Inf(-1), math.Inf(1)
	if f.Rules.Min != nil {
		rlo = *f.Rules.Min
	}
	if f.Rules.Max != nil {
		rhi = *f.Rules.Max
	}
	lo, hi = math.Max(lo, rlo), math.Min(hi, rhi)
	if lo > hi {
		// The name's range misses the rules: take the rules' range, bounded to a sane width.
		lo, hi = rlo, rhi
		if math.IsInf(lo, -1) {
			lo = hi - 1000
		}
		if math.IsInf(hi, 1) {
			hi = lo + 1000
		}
	}
	if lo > hi {
		return 0, 0, errors.New("min is greater than max")
	}
	return lo, hi, nil
}

// fitLength pads or cuts s into the field's length rules.
func fitLength(f *contract.Field, s string) string {
	for len(s) < f.Rules.MinLength {
		s += "x"
	}
	if f.Rules.MaxLength > 0 && len(s) > f.Rules.MaxLength {
		s = s[:f.Rules.MaxLength]
	}
	return s
}

func describeRules(f *contract.Field) string {
	var parts []string
	r := f.Rules
	if r.Pattern != nil {
		parts = append(parts, "pattern "+r.Pattern.String())
	}
	if r.MinLength > 0 {
		parts = append(parts, fmt.Sprintf("minLength %d", r.MinLength))
	}
	if r.MaxLength > 0 {
		parts = append(parts, fmt.Sprintf("maxLength %d", r.MaxLength))
	}
	if r.Min != nil {
		parts = append(parts, fmt.Sprintf("min %v", *r.Min))
	}
	if r.Max != nil {
		parts = append(parts, fmt.Sprintf("max %v", *r.Max))
	}
	return strings.Join(parts, ", ")
}
