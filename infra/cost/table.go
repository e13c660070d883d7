package cost

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteTable prints the bill a line per item, then the total: aligned text, or a Markdown table
// for infra/README.md.
func (b Bill) WriteTable(w io.Writer, markdown bool) error {
	s := b.Scenario
	head := fmt.Sprintf("%s records/s of %d B (%s/month), %d datasets, %s stream, %g days, %s prices of %s",
		num(s.RecordsPerSecond), s.RecordBytes, size(int64(s.RecordsPerSecond*s.Days*86400*float64(s.RecordBytes))),
		s.Datasets, strings.ToLower(strings.ReplaceAll(s.StreamMode, "_", "-")), s.Days, b.Prices.Region, b.Prices.AsOf)
	if markdown {
		fmt.Fprintf(w, "%s\n\n| part | item | usage | USD/month |\n| --- | --- | --- | ---: |\n", head)
		for _, l := range b.Lines {
			fmt.Fprintf(w, "| %s | %s | %s | %s |\n", l.Part, l.Item, l.Usage, money(l.USD))
		}
		_, err := fmt.Fprintf(w, "| **total** | | | **%s** |\n", money(b.Total()))
		return err
	}
	fmt.Fprintln(w, head)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "part\titem\tusage\t%10s\n", "USD/month")
	for _, l := range b.Lines {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%10s\n", l.Part, l.Item, l.Usage, money(l.USD))
	}
	fmt.Fprintf(tw, "total\t\t\t%10s\n", money(b.Total()))
	return tw.Flush()
}

// money rounds to the cent.
func money(usd float64) string { return group(fmt.Sprintf("%.2f", usd)) }

// num prints a count with thousands separators, keeping a decimal only below 100.
func num(f float64) string {
	if f < 100 && f != float64(int64(f)) {
		return strconv.FormatFloat(f, 'f', 2, 64)
	}
	return group(strconv.FormatFloat(f, 'f', 0, 64))
}

// gbs prints binary gigabytes.
func gbs(gb float64) string {
	if gb < 10 {
		return fmt.Sprintf("%.3f GB", gb)
	}
	return num(gb) + " GB"
}

// size prints bytes in the largest binary unit that keeps a whole number in front.
func size(n int64) string {
	for _, u := range []struct {
		unit int64
		name string
	}{{tib, "TB"}, {gib, "GB"}, {mib, "MB"}, {kib, "KB"}} {
		if n >= u.unit {
			return strconv.FormatFloat(float64(n)/float64(u.unit), 'g', 4, 64) + " " + u.name
		}
	}
	return fmt.Sprintf("%d B", n)
}

// group puts a comma between each three digits of the integer part.
func group(s string) string {
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	out := b.String()
	if neg {
		out = "-" + out
	}
	if frac != "" {
		out += "." + frac
	}
	return out
}
