package grpcapi

import (
	"context"
	"errors"
	"math"
	"time"

	dbrouterv1 "github.com/altus4/altus/pkg/gen/altus/dbrouter/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/services/dbrouter/internal/datasource"
	"github.com/altus4/altus/services/dbrouter/internal/fulltext"
	"github.com/altus4/altus/services/dbrouter/internal/schema"
	"github.com/altus4/altus/services/dbrouter/internal/sqlbuild"
)

// Reasons of search execution, per plan (PlanResult.error_code).
const (
	ReasonTimeout     = grpcx.ReasonTimeout
	ReasonQueryFailed = "QUERY_FAILED"
)

// sourceReason is the reason a source could not be described.
func sourceReason(err error) string {
	if errors.Is(err, datasource.ErrBusy) {
		return ReasonDatabaseBusy
	}
	return ReasonDatabaseConnectionFailed
}

// planReason is the reason of a failed plan.
func planReason(err error) string {
	if errors.Is(err, fulltext.ErrTimeout) {
		return ReasonTimeout
	}
	return ReasonQueryFailed
}

// DescribeSources implements DBRouterService.DescribeSources.
func (s *Server) DescribeSources(ctx context.Context, req *dbrouterv1.DescribeSourcesRequest) (*dbrouterv1.DescribeSourcesResponse, error) {
	userID, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	descs, err := s.svc.Describe(ctx, userID, req.GetIds())
	if err != nil {
		return nil, mapErr(err)
	}
	resp := &dbrouterv1.DescribeSourcesResponse{Sources: make([]*dbrouterv1.SourceDescription, len(descs))}
	for i, d := range descs {
		out := &dbrouterv1.SourceDescription{Id: d.ID, Name: d.Name, Database: d.Database,
			AiEgress: d.AIEgress, AiColumns: d.AIColumns}
		if d.Err != nil {
			out.ErrorCode, out.ErrorMessage = sourceReason(d.Err), publicMessage(d.Err)
		} else {
			out.Version = int32(d.Version)
			out.SchemaFingerprint = d.Schema.Fingerprint
			out.Server = serverProto(d.Schema.Server)
			out.Tables = make([]*dbrouterv1.TableSchema, len(d.Schema.Tables))
			for k, t := range d.Schema.Tables {
				out.Tables[k] = tableProto(t)
			}
		}
		resp.Sources[i] = out
	}
	return resp, nil
}

func publicMessage(err error) string {
	var pub interface{ PublicMessage() string }
	if errors.As(err, &pub) {
		return pub.PublicMessage()
	}
	return "The database could not be reached."
}

func serverProto(sv schema.Server) *dbrouterv1.ServerInfo {
	return &dbrouterv1.ServerInfo{
		Version:                sv.Version,
		Flavor:                 sv.Flavor,
		InnodbMinTokenSize:     int32(sv.InnoDBMinTokenSize),
		InnodbMaxTokenSize:     int32(sv.InnoDBMaxTokenSize),
		MyisamMinWordLen:       int32(sv.MyISAMMinWordLen),
		MyisamMaxWordLen:       int32(sv.MyISAMMaxWordLen),
		InnodbStopwords:        append([]string{}, sv.InnoDBStopwords...),
		InnodbStopwordsEnabled: sv.InnoDBStopwordsEnabled,
		MyisamStopwords:        append([]string{}, sv.MyISAMStopwords...),
		StatementTimeLimit:     sv.StatementTimeLimit,
	}
}

func planOf(p *dbrouterv1.SearchPlan) fulltext.Plan {
	return fulltext.Plan{
		Table: p.GetTable(), Index: p.GetIndex(), Mode: sqlbuild.Mode(p.GetMode()), Against: p.GetAgainst(),
		Limit: int(p.GetLimit()), Offset: int(p.GetOffset()), Count: p.GetCount(), Columns: p.GetColumns(), Explain: p.GetExplain(),
		KeysOnly: p.GetKeysOnly(), Unordered: p.GetUnordered(),
	}
}

// ExecuteSearch implements DBRouterService.ExecuteSearch.
func (s *Server) ExecuteSearch(ctx context.Context, req *dbrouterv1.ExecuteSearchRequest) (*dbrouterv1.ExecuteSearchResponse, error) {
	userID, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	in := fulltext.Request{
		SourceID:         req.GetSourceId(),
		Plans:            make([]fulltext.Plan, len(req.GetPlans())),
		Counts:           make([]fulltext.CountPlan, len(req.GetCounts())),
		Fetches:          make([]fulltext.Fetch, len(req.GetFetches())),
		StatementTimeout: time.Duration(req.GetStatementTimeoutMs()) * time.Millisecond,
		ExpectVersion:    int(req.GetExpectVersion()),
	}
	for i, p := range req.GetPlans() {
		in.Plans[i] = planOf(p)
	}
	for i, c := range req.GetCounts() {
		cp := fulltext.CountPlan{Table: c.GetTable(), Matches: make([]fulltext.Plan, len(c.GetMatches())), Op: sqlbuild.CountOp(c.GetOp())}
		for k, m := range c.GetMatches() {
			cp.Matches[k] = planOf(m)
		}
		in.Counts[i] = cp
	}
	for i, f := range req.GetFetches() {
		keys := make([][]string, len(f.GetKeys()))
		for k, key := range f.GetKeys() {
			keys[k] = key.GetValues()
		}
		in.Fetches[i] = fulltext.Fetch{Table: f.GetTable(), Keys: keys, Columns: f.GetColumns()}
	}
	if pg := req.GetPage(); pg != nil {
		in.Page = &fulltext.PagePlan{Offset: int(pg.GetOffset()), Limit: int(pg.GetLimit()), K: int(pg.GetRrfK())}
	}
	out, err := s.exec.Execute(ctx, userID, in)
	if err != nil {
		return nil, mapErr(err)
	}
	resp := &dbrouterv1.ExecuteSearchResponse{
		Plans:             make([]*dbrouterv1.PlanResult, len(out.Plans)),
		Counts:            make([]*dbrouterv1.PlanResult, len(out.Counts)),
		Fetches:           make([]*dbrouterv1.PlanResult, len(out.Fetches)),
		Version:           int32(out.Version),
		SchemaFingerprint: out.Fingerprint,
		QueuedMs:          ms(out.Queued),
	}
	for i, r := range out.Plans {
		resp.Plans[i] = resultProto(r)
	}
	for i, r := range out.Counts {
		resp.Counts[i] = resultProto(r)
	}
	for i, r := range out.Fetches {
		resp.Fetches[i] = resultProto(r)
	}
	for _, r := range out.Page {
		resp.Page = append(resp.Page, resultProto(r))
	}
	return resp, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func resultProto(r fulltext.Result) *dbrouterv1.PlanResult {
	out := &dbrouterv1.PlanResult{
		Columns:        r.Columns,
		Rows:           make([]*dbrouterv1.Row, len(r.Rows)),
		Total:          int32(min(r.Total, math.MaxInt32)),
		TotalEstimated: r.TotalEstimated,
		ElapsedMs:      ms(r.Elapsed),
		Statement:      r.Statement,
		Table:          r.Table,
	}
	for i, row := range r.Rows {
		out.Rows[i] = &dbrouterv1.Row{Values: row.Values, Nulls: row.Nulls, Score: row.Score}
	}
	if r.Err != nil {
		out.ErrorCode, out.ErrorMessage = planReason(r.Err), publicMessage(r.Err)
	}
	for _, e := range r.Explain {
		out.Explain = append(out.Explain, &dbrouterv1.ExplainRow{Fields: e})
	}
	return out
}
