// Package dbrouterclient reaches the caller's data sources for the search
// domain through the dbrouter service: DescribeSources (schema and
// full-text facts) and ExecuteSearch (plans that dbrouter turns into
// statements). It converts messages and maps dbrouter's errors to the
// domain's.
package dbrouterclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	dbrouterv1 "github.com/altus4/altus/pkg/gen/altus/dbrouter/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/services/search/internal/search"
)

// Client implements search.Sources over DBRouterService.
type Client struct {
	c dbrouterv1.DBRouterServiceClient
}

// New returns a Client over a dbrouter connection (pkg/grpcx.Dial, which
// forwards the caller's identity carried by the context).
func New(c dbrouterv1.DBRouterServiceClient) *Client { return &Client{c: c} }

// publicError is a domain sentinel with the message dbrouter wrote for the caller.
type publicError struct {
	sentinel error
	msg      string
	cause    error
}

func (e *publicError) Error() string         { return e.msg + ": " + e.cause.Error() }
func (e *publicError) Unwrap() error         { return e.sentinel }
func (e *publicError) PublicMessage() string { return e.msg }

// Describe returns the caller's sources named by ids (all when empty).
func (c *Client) Describe(ctx context.Context, ids []string) ([]search.Source, error) {
	resp, err := c.c.DescribeSources(ctx, &dbrouterv1.DescribeSourcesRequest{Ids: ids})
	if err != nil {
		return nil, mapCallError("describe sources", err)
	}
	out := make([]search.Source, len(resp.GetSources()))
	for i, s := range resp.GetSources() {
		out[i] = sourceFromProto(s)
	}
	return out, nil
}

// mapCallError maps an error of a call that concerns the whole search.
func mapCallError(what string, err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("dbrouter: %s: %w", what, err)
	}
	// The status errors of dbrouter are not wrapped: their messages would
	// reach the caller with this context prepended.
	switch st.Code() {
	case codes.NotFound:
		return &publicError{sentinel: search.ErrSourceNotFound, msg: st.Message(), cause: err}
	case codes.Unavailable:
		return fmt.Errorf("dbrouter: %s: %w (%v)", what, search.ErrUnavailable, err)
	case codes.DeadlineExceeded:
		return grpcx.Error(codes.DeadlineExceeded, grpcx.ReasonTimeout, "The database router did not answer in time.")
	case codes.Canceled:
		return context.Canceled
	case codes.Internal, codes.Unknown:
		return fmt.Errorf("dbrouter: %s: %v", what, err)
	}
	// Errors the caller can act on (validation, permission) pass through as dbrouter wrote them.
	return err
}

func sourceFromProto(s *dbrouterv1.SourceDescription) search.Source {
	srv := s.GetServer()
	out := search.Source{
		ID: s.GetId(), Name: s.GetName(), Database: s.GetDatabase(), Version: int(s.GetVersion()),
		Fingerprint: s.GetSchemaFingerprint(), ErrorCode: s.GetErrorCode(), ErrorMessage: s.GetErrorMessage(),
		AIEgress: s.GetAiEgress(), AIColumns: s.GetAiColumns(),
		Server: search.ServerInfo{
			Version: srv.GetVersion(), Flavor: srv.GetFlavor(),
			InnoDBMinTokenSize: int(srv.GetInnodbMinTokenSize()), InnoDBMaxTokenSize: int(srv.GetInnodbMaxTokenSize()),
			MyISAMMinWordLen: int(srv.GetMyisamMinWordLen()), MyISAMMaxWordLen: int(srv.GetMyisamMaxWordLen()),
			InnoDBStopwords: srv.GetInnodbStopwords(), InnoDBStopwordsEnabled: srv.GetInnodbStopwordsEnabled(),
			MyISAMStopwords: srv.GetMyisamStopwords(),
		},
	}
	out.Tables = make([]search.Table, len(s.GetTables()))
	for i, t := range s.GetTables() {
		tb := search.Table{Name: t.GetTable(), PrimaryKey: t.GetPrimaryKey(), Engine: t.GetEngine(), EstimatedRows: int(t.GetEstimatedRows())}
		tb.Columns = make([]search.Column, len(t.GetColumns()))
		for j, c := range t.GetColumns() {
			tb.Columns[j] = search.Column{Name: c.GetName(), Type: c.GetType(), IsSearchable: c.GetIsSearchable(),
				IsFullText: c.GetIsFullTextIndexed(), IsPrimaryKey: c.GetIsPrimaryKey(), MaxChars: c.GetMaxChars()}
		}
		for _, ix := range t.GetFullTextIndexes() {
			tb.Indexes = append(tb.Indexes, search.Index{Name: ix.GetName(), Columns: ix.GetColumns()})
		}
		out.Tables[i] = tb
	}
	return out
}

// Execute runs plans on one source. A failure of the call is a
// *search.SourceError (timeouts flagged), so that the search reports the
// source and carries on with the others.
func (c *Client) Execute(ctx context.Context, req search.ExecRequest) (search.ExecResponse, error) {
	m := &dbrouterv1.ExecuteSearchRequest{
		SourceId:           req.SourceID,
		StatementTimeoutMs: int32(min(req.StatementTimeout.Milliseconds(), 1<<31-1)),
	}
	for _, p := range req.Plans {
		m.Plans = append(m.Plans, planToProto(p))
	}
	for _, cp := range req.Counts {
		pc := &dbrouterv1.CountPlan{Table: cp.Table, Op: cp.Op}
		for _, p := range cp.Matches {
			pc.Matches = append(pc.Matches, planToProto(p))
		}
		m.Counts = append(m.Counts, pc)
	}
	for _, f := range req.Fetches {
		pf := &dbrouterv1.FetchPlan{Table: f.Table, Keys: make([]*dbrouterv1.RowKey, len(f.Keys))}
		for i, k := range f.Keys {
			pf.Keys[i] = &dbrouterv1.RowKey{Values: k}
		}
		m.Fetches = append(m.Fetches, pf)
	}
	if req.Page != nil {
		m.Page = &dbrouterv1.PagePlan{Offset: int32(req.Page.Offset), Limit: int32(req.Page.Limit), RrfK: search.RRFK}
	}
	resp, err := c.c.ExecuteSearch(ctx, m)
	if err != nil {
		return search.ExecResponse{}, sourceError(ctx, err)
	}
	out := search.ExecResponse{Queued: millis(resp.GetQueuedMs())}
	out.Plans = make([]search.PlanResult, len(resp.GetPlans()))
	for i, p := range resp.GetPlans() {
		out.Plans[i] = planResultFromProto(p)
	}
	out.Counts = make([]search.PlanResult, len(resp.GetCounts()))
	for i, p := range resp.GetCounts() {
		out.Counts[i] = planResultFromProto(p)
	}
	out.Fetches = make([]search.PlanResult, len(resp.GetFetches()))
	for i, p := range resp.GetFetches() {
		out.Fetches[i] = planResultFromProto(p)
	}
	for _, p := range resp.GetPage() {
		out.Page = append(out.Page, planResultFromProto(p))
	}
	return out, nil
}

func sourceError(ctx context.Context, err error) error {
	st, _ := status.FromError(err)
	se := &search.SourceError{Err: err}
	switch {
	case st.Code() == codes.DeadlineExceeded || errors.Is(ctx.Err(), context.DeadlineExceeded):
		se.Timeout = true
		se.Code = search.CodeTimeout
	case st.Code() == codes.Internal || st.Code() == codes.Unknown:
		se.Code = grpcx.Reason(err)
	case st.Code() == codes.Unavailable && grpcx.Reason(err) == "":
		se.Code, se.Message = grpcx.ReasonUnavailable, "The database router did not answer."
	default:
		se.Code, se.Message = grpcx.Reason(err), st.Message()
	}
	return se
}

func planToProto(p search.Plan) *dbrouterv1.SearchPlan {
	return &dbrouterv1.SearchPlan{
		Table: p.Table, Index: p.Index, Mode: p.Mode, Against: p.Against,
		Limit: int32(p.Limit), Offset: int32(p.Offset), Count: p.Count, Explain: p.Explain, KeysOnly: p.KeysOnly, Unordered: p.Unordered,
	}
}

func planResultFromProto(p *dbrouterv1.PlanResult) search.PlanResult {
	out := search.PlanResult{
		Columns: p.GetColumns(), Total: int(p.GetTotal()), TotalEstimated: p.GetTotalEstimated(),
		ErrorCode: p.GetErrorCode(), ErrorMessage: p.GetErrorMessage(), Elapsed: millis(p.GetElapsedMs()),
		Statement: p.GetStatement(), Table: p.GetTable(),
	}
	out.Rows = make([]search.Row, len(p.GetRows()))
	for i, r := range p.GetRows() {
		out.Rows[i] = search.Row{Values: r.GetValues(), Nulls: r.GetNulls(), Score: r.GetScore()}
	}
	for _, e := range p.GetExplain() {
		out.Explain = append(out.Explain, e.GetFields())
	}
	return out
}

func millis(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
