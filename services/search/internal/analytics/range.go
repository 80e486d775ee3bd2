package analytics

import (
	"strings"
	"time"

	"github.com/altus4/altus/pkg/validate"
	"github.com/altus4/altus/services/search/internal/events"
)

// Validation codes of the analytics requests.
const (
	CodeInvalidDate   = "INVALID_DATE"
	CodeInvalidPeriod = "INVALID_PERIOD"
	CodeInvalidRange  = "INVALID_RANGE"
	CodeOutOfRange    = "OUT_OF_RANGE"
	CodeInvalidID     = "INVALID_ID"
)

// DefaultPeriod is the period of a request that names no range.
const DefaultPeriod = "week"

// Periods are the named ranges ending now, in order.
var Periods = []string{"day", "week", "month", "3months", "6months", "year"}

// periodStart returns the start of period p ending at now.
func periodStart(p string, now time.Time) (time.Time, bool) {
	switch p {
	case "day":
		return now.Add(-24 * time.Hour), true
	case "week":
		return now.AddDate(0, 0, -7), true
	case "month":
		return now.AddDate(0, -1, 0), true
	case "3months":
		return now.AddDate(0, -3, 0), true
	case "6months":
		return now.AddDate(0, -6, 0), true
	case "year":
		return now.AddDate(-1, 0, 0), true
	}
	return time.Time{}, false
}

// RangeRequest is the range of a report as the client gives it: both dates
// (YYYY-MM-DD or RFC 3339) or a period ending now.
type RangeRequest struct {
	StartDate, EndDate, Period string
}

// Window is a resolved range.
type Window struct {
	events.Range
	// Period names the range: the period, or "custom" for dates.
	Period string
}

// Previous is the range of the same length just before w.
func (w Window) Previous() events.Range {
	return events.Range{Start: w.Start.Add(-w.End.Sub(w.Start)), End: w.Start}
}

// MaxRange is the longest range a report covers (a little over a year, so
// that "year" and a calendar year given by dates both fit).
const MaxRange = 367 * 24 * time.Hour

// parseDate reads a date or time; a date given as end is inclusive (its
// range ends at the next midnight UTC).
func parseDate(s string, end bool) (time.Time, bool) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, true
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}

// resolve checks r into c and returns its window as of now.
func resolve(c *validate.Collector, r RangeRequest, now time.Time) Window {
	start, end, period := strings.TrimSpace(r.StartDate), strings.TrimSpace(r.EndDate), strings.TrimSpace(r.Period)
	if start == "" && end == "" {
		if period == "" {
			period = DefaultPeriod
		}
		from, ok := periodStart(period, now)
		c.Check(ok, "period", CodeInvalidPeriod, "period must be one of %s; got %q.", strings.Join(Periods, ", "), period)
		return Window{Range: events.Range{Start: from, End: now}, Period: period}
	}
	var w Window
	w.Period = "custom"
	okStart := c.Check(start != "", "startDate", CodeInvalidDate, "startDate is required with endDate (YYYY-MM-DD or RFC 3339).")
	okEnd := c.Check(end != "", "endDate", CodeInvalidDate, "endDate is required with startDate (YYYY-MM-DD or RFC 3339).")
	if okStart {
		var ok bool
		w.Start, ok = parseDate(start, false)
		okStart = c.Check(ok, "startDate", CodeInvalidDate, "startDate must be a date (YYYY-MM-DD) or an RFC 3339 time; got %q.", start)
	}
	if okEnd {
		var ok bool
		w.End, ok = parseDate(end, true)
		okEnd = c.Check(ok, "endDate", CodeInvalidDate, "endDate must be a date (YYYY-MM-DD) or an RFC 3339 time; got %q.", end)
	}
	if okStart && okEnd && c.Check(w.Start.Before(w.End), "startDate", CodeInvalidRange, "startDate must be before the end of endDate.") {
		c.Check(w.End.Sub(w.Start) <= MaxRange, "endDate", CodeInvalidRange, "A range covers at most 367 days.")
	}
	return w
}

// Limits of the paged reports.
const (
	DefaultLimit = 20
	MaxLimit     = 100
	// DefaultMaxPosition and MaxPosition bound GetClickThrough's positions.
	DefaultMaxPosition = 10
	MaxPosition        = 100
)

// checkLimit checks a limit (0 means def) into c and returns it.
func checkLimit(c *validate.Collector, field string, n, def, maxN int) int {
	if n == 0 {
		return def
	}
	c.Check(n >= 1 && n <= maxN, field, CodeOutOfRange, "%s must be between 1 and %d (default %d); got %d.", field, maxN, def, n)
	return n
}

// checkOffset checks an offset into c.
func checkOffset(c *validate.Collector, n int) int {
	c.Check(n >= 0 && n <= 100000, "offset", CodeOutOfRange, "offset must be between 0 and 100000; got %d.", n)
	return n
}
