// Package analytics answers the analytics reports over the recorded search
// events (search_analytics) and the clicks on their results
// (search_clicks): the caller's own reports, and the system-wide ones for
// administrators. It knows nothing of gRPC; the statements themselves live
// in package events.
package analytics

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/validate"
	"github.com/altus4/altus/services/search/internal/events"
)

// Errors of the service.
var (
	// ErrNotAdmin: a system-wide report asked for by a caller without the
	// admin role.
	ErrNotAdmin = errors.New("This report is for administrators.")
	// ErrSearchNotFound: a click on a search that is not the caller's.
	ErrSearchNotFound = errors.New("No search of yours has this searchId.")
	// ErrUnavailable: the event store is not configured.
	ErrUnavailable = errors.New("Analytics are not available right now.")
)

// Store reads the recorded events; *events.Store is one.
type Store interface {
	UserSummary(ctx context.Context, user string, r events.Range) (events.Summary, error)
	UserP95(ctx context.Context, user string, r events.Range, n int64) (int64, error)
	UserDays(ctx context.Context, user string, r events.Range) ([]events.DayStats, error)
	UserModes(ctx context.Context, user string, r events.Range) ([]events.ModeStats, error)
	UserPopular(ctx context.Context, user string, r events.Range, limit int) ([]events.QueryStats, error)
	UserZeroResults(ctx context.Context, user string, r events.Range, limit int) ([]events.ZeroQuery, error)
	UserHistory(ctx context.Context, user string, r events.Range, limit, offset int) ([]events.Event, int64, error)
	UserImpressions(ctx context.Context, user string, r events.Range) ([]events.PageShown, error)
	UserClicks(ctx context.Context, user string, r events.Range, maxPosition int) (map[int]int64, int64, error)
	UserSourceTimings(ctx context.Context, user string, r events.Range) ([][]events.SourceTiming, error)
	SystemSummary(ctx context.Context, r events.Range) (events.SystemSummary, error)
	SystemVolume(ctx context.Context, r events.Range) ([]events.DayVolume, error)
	SystemDays(ctx context.Context, r events.Range) ([]events.DayStats, error)
	SystemUsers(ctx context.Context, r events.Range, limit, offset int) ([]events.UserStats, error)
	SystemSlowest(ctx context.Context, r events.Range, limit int) ([]events.Slow, error)
	SearchOwner(ctx context.Context, searchID string) (string, bool, error)
	InsertClick(ctx context.Context, c events.Click) error
}

// PendingEvents knows the events queued but not yet written;
// *events.Recorder is one.
type PendingEvents interface {
	Pending(id string) (userID string, ok bool)
}

// UserInfo is what the account service tells of a user.
type UserInfo struct {
	ID, Email, Name, Role string
}

// Users looks users up by id (unknown ids are left out).
type Users interface {
	LookupUsers(ctx context.Context, ids []string) ([]UserInfo, error)
}

// Options configure New.
type Options struct {
	Store   Store
	Pending PendingEvents
	// Insights turns numbers into insights; nil answers none ("unavailable").
	Insights InsightsGenerator
	// Users names the users of the admin report; nil leaves names empty.
	Users Users
	// InsightsTimeout bounds the insights call (default 3s).
	InsightsTimeout time.Duration
	// ClickWait is how long a click on a search found nowhere yet waits
	// for it to be written: a search answered by another replica (or at
	// the edge) is written within that replica's flush interval. 0 does
	// not wait.
	ClickWait time.Duration
	Log       *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service answers the reports.
type Service struct {
	o Options
}

// New returns a Service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.InsightsTimeout <= 0 {
		o.InsightsTimeout = 3 * time.Second
	}
	return &Service{o: o}
}

func (s *Service) window(r RangeRequest) (Window, error) {
	var c validate.Collector
	w := resolve(&c, r, s.o.Now().UTC())
	if err := c.Err(); err != nil {
		return Window{}, err
	}
	if s.o.Store == nil {
		return Window{}, ErrUnavailable
	}
	return w, nil
}

func requireAdmin(p identity.Principal) error {
	if !p.IsAdmin() {
		return ErrNotAdmin
	}
	return nil
}

// Trend is the searching of a range: volume, mean time, top queries.
type Trend struct {
	Period     string
	TopQueries []string
	Volume     int64
	AvgMillis  float64
}

// TopQueriesPerTrend is how many query texts a Trend lists.
const TopQueriesPerTrend = 5

// SearchTrends reports the caller's searching over the range.
func (s *Service) SearchTrends(ctx context.Context, p identity.Principal, r RangeRequest) (Trend, error) {
	w, err := s.window(r)
	if err != nil {
		return Trend{}, err
	}
	return s.trend(ctx, p.UserID, w)
}

func (s *Service) trend(ctx context.Context, user string, w Window) (Trend, error) {
	sum, err := s.o.Store.UserSummary(ctx, user, w.Range)
	if err != nil {
		return Trend{}, err
	}
	top, err := s.o.Store.UserPopular(ctx, user, w.Range, TopQueriesPerTrend)
	if err != nil {
		return Trend{}, err
	}
	return trendOf(w, sum.Total, sum.AvgMillis, top), nil
}

// trendOf is the trend of a range from its totals and its most frequent queries.
func trendOf(w Window, total int64, avg float64, popular []events.QueryStats) Trend {
	t := Trend{Period: w.Period, TopQueries: []string{}, Volume: total, AvgMillis: avg}
	for _, q := range popular[:min(len(popular), TopQueriesPerTrend)] {
		t.TopQueries = append(t.TopQueries, q.Query)
	}
	return t
}

// DayPoint is one day of response times.
type DayPoint struct {
	Date                            string
	Total                           int64
	AvgMillis, MaxMillis, MinMillis float64
	AvgResults                      float64
}

// Mode is one mode's share.
type Mode struct {
	Mode      string
	Count     int64
	AvgMillis float64
}

// Summary sums a range up.
type Summary struct {
	Total         int64
	AvgMillis     float64
	AvgResults    float64
	P95Millis     float64
	ZeroResults   int64
	CacheHitRatio float64
}

// Performance is the v1 performance report.
type Performance struct {
	Days    []DayPoint
	Modes   []Mode
	Summary Summary
}

// Performance reports the caller's response times by day and by mode.
func (s *Service) Performance(ctx context.Context, p identity.Principal, r RangeRequest) (Performance, error) {
	w, err := s.window(r)
	if err != nil {
		return Performance{}, err
	}
	return s.performance(ctx, p.UserID, w)
}

func dayPoints(ds []events.DayStats) []DayPoint {
	out := make([]DayPoint, 0, len(ds))
	for _, d := range ds {
		out = append(out, DayPoint{Date: d.Day.Format(time.DateOnly), Total: d.Count, AvgMillis: d.AvgMillis,
			MaxMillis: d.MaxMillis, MinMillis: d.MinMillis, AvgResults: d.AvgResults})
	}
	return out
}

func (s *Service) summary(ctx context.Context, user string, rg events.Range) (Summary, error) {
	sum, err := s.o.Store.UserSummary(ctx, user, rg)
	if err != nil {
		return Summary{}, err
	}
	p95, err := s.o.Store.UserP95(ctx, user, rg, sum.Total)
	if err != nil {
		return Summary{}, err
	}
	out := Summary{Total: sum.Total, AvgMillis: sum.AvgMillis, AvgResults: sum.AvgResults, P95Millis: float64(p95), ZeroResults: sum.Zero}
	if sum.Total > 0 {
		out.CacheHitRatio = float64(sum.Cached) / float64(sum.Total)
	}
	return out, nil
}

func (s *Service) performance(ctx context.Context, user string, w Window) (Performance, error) {
	sum, err := s.summary(ctx, user, w.Range)
	if err != nil {
		return Performance{}, err
	}
	return s.performanceWith(ctx, user, w, sum)
}

// performanceWith completes the performance report of a range whose summary is known.
func (s *Service) performanceWith(ctx context.Context, user string, w Window, sum Summary) (Performance, error) {
	days, err := s.o.Store.UserDays(ctx, user, w.Range)
	if err != nil {
		return Performance{}, err
	}
	modes, err := s.o.Store.UserModes(ctx, user, w.Range)
	if err != nil {
		return Performance{}, err
	}
	out := Performance{Days: dayPoints(days), Modes: make([]Mode, 0, len(modes)), Summary: sum}
	for _, m := range modes {
		out.Modes = append(out.Modes, Mode{Mode: m.Mode, Count: m.Count, AvgMillis: m.AvgMillis})
	}
	return out, nil
}

// PopularRequest selects a range and how many queries.
type PopularRequest struct {
	RangeRequest
	Limit int
}

// Popular lists the caller's most frequent queries of the range.
func (s *Service) Popular(ctx context.Context, p identity.Principal, r PopularRequest) ([]events.QueryStats, error) {
	var c validate.Collector
	limit := checkLimit(&c, "limit", r.Limit, DefaultLimit, MaxLimit)
	w := resolve(&c, r.RangeRequest, s.o.Now().UTC())
	if err := c.Err(); err != nil {
		return nil, err
	}
	if s.o.Store == nil {
		return nil, ErrUnavailable
	}
	return s.o.Store.UserPopular(ctx, p.UserID, w.Range, limit)
}

// ZeroResults lists the caller's queries of the range that found nothing.
func (s *Service) ZeroResults(ctx context.Context, p identity.Principal, r PopularRequest) ([]events.ZeroQuery, error) {
	var c validate.Collector
	limit := checkLimit(&c, "limit", r.Limit, DefaultLimit, MaxLimit)
	w := resolve(&c, r.RangeRequest, s.o.Now().UTC())
	if err := c.Err(); err != nil {
		return nil, err
	}
	if s.o.Store == nil {
		return nil, ErrUnavailable
	}
	return s.o.Store.UserZeroResults(ctx, p.UserID, w.Range, limit)
}

// PageRequest selects a range and a page.
type PageRequest struct {
	RangeRequest
	Limit, Offset int
}

// History pages through the caller's searches of the range, newest first.
func (s *Service) History(ctx context.Context, p identity.Principal, r PageRequest) ([]events.Event, int64, error) {
	var c validate.Collector
	limit := checkLimit(&c, "limit", r.Limit, DefaultLimit, MaxLimit)
	offset := checkOffset(&c, r.Offset)
	w := resolve(&c, r.RangeRequest, s.o.Now().UTC())
	if err := c.Err(); err != nil {
		return nil, 0, err
	}
	if s.o.Store == nil {
		return nil, 0, ErrUnavailable
	}
	return s.o.Store.UserHistory(ctx, p.UserID, w.Range, limit, offset)
}

// Dashboard gathers the caller's reports.
type Dashboard struct {
	Trend       Trend
	Performance Performance
	Popular     []events.QueryStats
	Insights    Insights
	Period      string
	TopQuery    string
}

// Dashboard answers trends, performance, popular queries and insights at
// once, reading the range's summary and popular queries once for all four.
func (s *Service) Dashboard(ctx context.Context, p identity.Principal, r RangeRequest) (Dashboard, error) {
	w, err := s.window(r)
	if err != nil {
		return Dashboard{}, err
	}
	sum, err := s.summary(ctx, p.UserID, w.Range)
	if err != nil {
		return Dashboard{}, err
	}
	d := Dashboard{Period: w.Period}
	if d.Popular, err = s.o.Store.UserPopular(ctx, p.UserID, w.Range, DefaultLimit); err != nil {
		return Dashboard{}, err
	}
	if len(d.Popular) > 0 {
		d.TopQuery = d.Popular[0].Query
	}
	d.Trend = trendOf(w, sum.Total, sum.AvgMillis, d.Popular)
	if d.Performance, err = s.performanceWith(ctx, p.UserID, w, sum); err != nil {
		return Dashboard{}, err
	}
	in, err := s.insightsInputWith(ctx, p.UserID, w, sum, d.Popular[:min(len(d.Popular), InsightQueries)])
	if err != nil {
		return Dashboard{}, err
	}
	d.Insights = s.generate(ctx, in)
	return d, nil
}

// PositionClicks is the click-through at one position.
type PositionClicks struct {
	Position    int
	Impressions int64
	Clicks      int64
	Rate        float64
}

// ClickThrough reports click-through by position.
type ClickThrough struct {
	Positions           []PositionClicks
	SearchesWithResults int64
	SearchesWithClicks  int64
	Rate                float64
}

// ClickThroughRequest selects a range and the positions reported.
type ClickThroughRequest struct {
	RangeRequest
	MaxPosition int
}

// ClickThrough reports impressions, clicks and their rate by position over
// the caller's searches of the range.
func (s *Service) ClickThrough(ctx context.Context, p identity.Principal, r ClickThroughRequest) (ClickThrough, error) {
	var c validate.Collector
	maxPos := checkLimit(&c, "maxPosition", r.MaxPosition, DefaultMaxPosition, MaxPosition)
	w := resolve(&c, r.RangeRequest, s.o.Now().UTC())
	if err := c.Err(); err != nil {
		return ClickThrough{}, err
	}
	if s.o.Store == nil {
		return ClickThrough{}, ErrUnavailable
	}
	return s.clickThrough(ctx, p.UserID, w.Range, maxPos)
}

func (s *Service) clickThrough(ctx context.Context, user string, rg events.Range, maxPos int) (ClickThrough, error) {
	pages, err := s.o.Store.UserImpressions(ctx, user, rg)
	if err != nil {
		return ClickThrough{}, err
	}
	clicks, clicked, err := s.o.Store.UserClicks(ctx, user, rg, maxPos)
	if err != nil {
		return ClickThrough{}, err
	}
	out := ClickThrough{Positions: make([]PositionClicks, maxPos), SearchesWithClicks: clicked}
	for i := range out.Positions {
		out.Positions[i].Position = i + 1
	}
	for _, pg := range pages {
		out.SearchesWithResults += pg.Searches
		// The page showed positions Offset+1 .. Offset+Count.
		for pos := pg.Offset + 1; pos <= min(pg.Offset+pg.Count, maxPos); pos++ {
			out.Positions[pos-1].Impressions += pg.Searches
		}
	}
	for i := range out.Positions {
		pc := &out.Positions[i]
		pc.Clicks = clicks[pc.Position]
		if pc.Impressions > 0 {
			pc.Rate = float64(pc.Clicks) / float64(pc.Impressions)
		}
	}
	if out.SearchesWithResults > 0 {
		out.Rate = float64(out.SearchesWithClicks) / float64(out.SearchesWithResults)
	}
	return out, nil
}

// ClickRequest is one opened result.
type ClickRequest struct {
	SearchID, ResultID string
	Position           int
}

// MaxPositionClicked is the deepest position a click may name.
const MaxPositionClicked = 1000

// MaxResultIDLength bounds a result id.
const MaxResultIDLength = 512

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// RecordClick records that the caller opened a result of one of their
// searches. The search must be the caller's: either already written, or
// still pending in this process's recorder (events are written in batches,
// so a click can arrive first). The click is stored with the caller's id
// and reports count it only against a search row of the same user, so a
// click whose search never gets written is never counted.
func (s *Service) RecordClick(ctx context.Context, p identity.Principal, r ClickRequest) error {
	var c validate.Collector
	c.Check(uuidPattern.MatchString(r.SearchID), "searchId", CodeInvalidID, "searchId must be the searchId of a search response (a UUID).")
	c.Check(r.ResultID != "" && len(r.ResultID) <= MaxResultIDLength, "resultId", CodeInvalidID, "resultId must be the id of a result (1 to %d characters).", MaxResultIDLength)
	c.Check(r.Position >= 1 && r.Position <= MaxPositionClicked, "position", CodeOutOfRange, "position must be between 1 and %d; got %d.", MaxPositionClicked, r.Position)
	if err := c.Err(); err != nil {
		return err
	}
	if s.o.Store == nil {
		return ErrUnavailable
	}
	searchID := normalizeUUID(r.SearchID)
	owner, ok, err := s.searchOwner(ctx, searchID)
	if err != nil {
		return err
	}
	if !ok && s.o.ClickWait > 0 {
		// Not written yet, perhaps: another replica answered the search a
		// moment ago and has it queued.
		deadline := time.NewTimer(s.o.ClickWait)
		defer deadline.Stop()
		tick := time.NewTicker(clickPoll)
		defer tick.Stop()
	wait:
		for !ok {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-deadline.C:
				break wait
			case <-tick.C:
				if owner, ok, err = s.searchOwner(ctx, searchID); err != nil {
					return err
				}
			}
		}
	}
	if !ok || owner != p.UserID {
		return ErrSearchNotFound
	}
	id := uuid.NewString()
	if v7, err := uuid.NewV7(); err == nil {
		id = v7.String() // time-ordered: appended to the table's key
	}
	return s.o.Store.InsertClick(ctx, events.Click{ID: id, SearchID: searchID, UserID: p.UserID,
		ResultID: r.ResultID, Position: r.Position, CreatedAt: s.o.Now()})
}

// clickPoll is how often a waiting click looks for its search again.
const clickPoll = 100 * time.Millisecond

// searchOwner returns the user of a search queued here or written.
func (s *Service) searchOwner(ctx context.Context, searchID string) (string, bool, error) {
	if s.o.Pending != nil {
		if owner, ok := s.o.Pending.Pending(searchID); ok {
			return owner, true, nil
		}
	}
	return s.o.Store.SearchOwner(ctx, searchID)
}

func normalizeUUID(s string) string {
	u, err := uuid.Parse(s)
	if err != nil {
		return s
	}
	return u.String()
}

// SystemOverview reports system-wide usage.
type SystemOverview struct {
	Summary events.SystemSummary
	Volume  []events.DayVolume
	Period  string
}

// SystemOverview reports every user's searching over the range (admin).
func (s *Service) SystemOverview(ctx context.Context, p identity.Principal, r RangeRequest) (SystemOverview, error) {
	if err := requireAdmin(p); err != nil {
		return SystemOverview{}, err
	}
	w, err := s.window(r)
	if err != nil {
		return SystemOverview{}, err
	}
	sum, err := s.o.Store.SystemSummary(ctx, w.Range)
	if err != nil {
		return SystemOverview{}, err
	}
	vol, err := s.o.Store.SystemVolume(ctx, w.Range)
	if err != nil {
		return SystemOverview{}, err
	}
	return SystemOverview{Summary: sum, Volume: vol, Period: w.Period}, nil
}

// UserActivity is one user's searching with their account details.
type UserActivity struct {
	events.UserStats
	Email, Name, Role string
}

// UserActivity lists the users who searched in the range, most searches
// first, named by the account service (admin).
func (s *Service) UserActivity(ctx context.Context, p identity.Principal, r PageRequest) ([]UserActivity, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	var c validate.Collector
	limit := checkLimit(&c, "limit", r.Limit, DefaultLimit, MaxLimit)
	offset := checkOffset(&c, r.Offset)
	w := resolve(&c, r.RangeRequest, s.o.Now().UTC())
	if err := c.Err(); err != nil {
		return nil, err
	}
	if s.o.Store == nil {
		return nil, ErrUnavailable
	}
	stats, err := s.o.Store.SystemUsers(ctx, w.Range, limit, offset)
	if err != nil {
		return nil, err
	}
	out := make([]UserActivity, len(stats))
	ids := make([]string, len(stats))
	for i, st := range stats {
		out[i].UserStats = st
		ids[i] = st.UserID
	}
	if s.o.Users != nil && len(ids) > 0 {
		users, err := s.o.Users.LookupUsers(ctx, ids)
		if err != nil {
			// The numbers stand without the names.
			s.o.Log.WarnContext(ctx, "user activity not named: account lookup failed", "error", err)
		}
		byID := make(map[string]UserInfo, len(users))
		for _, u := range users {
			byID[u.ID] = u
		}
		for i := range out {
			if u, ok := byID[out[i].UserID]; ok {
				out[i].Email, out[i].Name, out[i].Role = u.Email, u.Name, u.Role
			}
		}
	}
	return out, nil
}

// SystemPerformance reports system-wide response times.
type SystemPerformance struct {
	Days    []DayPoint
	Slowest []events.Slow
	Total   int64
	Avg     float64
	Peak    float64
}

// SlowestQueries is how many of the slowest searches are listed.
const SlowestQueries = 10

// SystemPerformance reports every user's response times over the range (admin).
func (s *Service) SystemPerformance(ctx context.Context, p identity.Principal, r RangeRequest) (SystemPerformance, error) {
	if err := requireAdmin(p); err != nil {
		return SystemPerformance{}, err
	}
	w, err := s.window(r)
	if err != nil {
		return SystemPerformance{}, err
	}
	days, err := s.o.Store.SystemDays(ctx, w.Range)
	if err != nil {
		return SystemPerformance{}, err
	}
	slow, err := s.o.Store.SystemSlowest(ctx, w.Range, SlowestQueries)
	if err != nil {
		return SystemPerformance{}, err
	}
	sum, err := s.o.Store.SystemSummary(ctx, w.Range)
	if err != nil {
		return SystemPerformance{}, err
	}
	return SystemPerformance{Days: dayPoints(days), Slowest: slow, Total: sum.Total, Avg: sum.AvgMillis, Peak: float64(sum.MaxMillis)}, nil
}

// sourceStats aggregates per-source timings, slowest (by mean) first.
func sourceStats(rows [][]events.SourceTiming) []SourceStat {
	type acc struct {
		times    []int64
		failures int64
	}
	by := map[string]*acc{}
	for _, ts := range rows {
		for _, t := range ts {
			a := by[t.ID]
			if a == nil {
				a = &acc{}
				by[t.ID] = a
			}
			a.times = append(a.times, t.Millis)
			if t.Failed {
				a.failures++
			}
		}
	}
	out := make([]SourceStat, 0, len(by))
	for id, a := range by {
		sort.Slice(a.times, func(i, j int) bool { return a.times[i] < a.times[j] })
		var sum int64
		for _, v := range a.times {
			sum += v
		}
		n := int64(len(a.times))
		rank := (95*n + 99) / 100
		out = append(out, SourceStat{ID: id, Searches: n, AvgMillis: float64(sum) / float64(n),
			P95Millis: float64(a.times[rank-1]), Failures: a.failures})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].AvgMillis != out[j].AvgMillis {
			return out[i].AvgMillis > out[j].AvgMillis
		}
		return out[i].ID < out[j].ID
	})
	return out
}
