// Package grpcapi adapts the data source domain to the generated
// altus.dbrouter.v1.DBRouterService: it finds the caller in the context,
// converts messages, and maps domain errors to status codes with v1 reasons
// in one table.
package grpcapi

import (
	"context"
	"math"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	dbrouterv1 "github.com/altus4/altus/pkg/gen/altus/dbrouter/v1"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/services/dbrouter/internal/datasource"
	"github.com/altus4/altus/services/dbrouter/internal/fulltext"
	"github.com/altus4/altus/services/dbrouter/internal/schema"
)

// Reasons of the dbrouter service. CONNECTION_NOT_FOUND and
// DATABASE_CONNECTION_FAILED are v1 error codes; CONFLICT, DATABASE_BUSY
// and SOURCE_CHANGED are new (Aborted, Unavailable, FailedPrecondition).
const (
	ReasonNoToken                  = "NO_TOKEN"
	ReasonConnectionNotFound       = "CONNECTION_NOT_FOUND"
	ReasonDatabaseConnectionFailed = "DATABASE_CONNECTION_FAILED"
	ReasonConflict                 = "CONFLICT"
	ReasonDatabaseBusy             = "DATABASE_BUSY"
	ReasonSourceChanged            = "SOURCE_CHANGED"
)

// errorTable is the one mapping of domain errors to codes and reasons.
var errorTable = []grpcx.Mapping{
	{Err: datasource.ErrNotFound, Code: codes.NotFound, Reason: ReasonConnectionNotFound},
	// A source that cannot be reached while searching is unavailable (the
	// search reports it as a failed source); while saving settings it is
	// the caller's settings that fail (the next row).
	{Err: fulltext.ErrSourceUnavailable, Code: codes.Unavailable, Reason: ReasonDatabaseConnectionFailed},
	{Err: fulltext.ErrSourceChanged, Code: codes.FailedPrecondition, Reason: ReasonSourceChanged},
	{Err: datasource.ErrConnectionFailed, Code: codes.FailedPrecondition, Reason: ReasonDatabaseConnectionFailed},
	{Err: datasource.ErrConflict, Code: codes.Aborted, Reason: ReasonConflict},
	{Err: datasource.ErrBusy, Code: codes.Unavailable, Reason: ReasonDatabaseBusy},
}

func mapErr(err error) error { return grpcx.Map(err, errorTable) }

// errNoCaller answers a call that came without a caller.
var errNoCaller = grpcx.Error(codes.Unauthenticated, ReasonNoToken,
	"This call needs a signed-in caller: send a session token as \"authorization: Bearer <token>\".")

func caller(ctx context.Context) (string, error) {
	p, ok := identity.From(ctx)
	if !ok || p.UserID == "" {
		return "", errNoCaller
	}
	return p.UserID, nil
}

// Server implements dbrouterv1.DBRouterServiceServer.
type Server struct {
	dbrouterv1.UnimplementedDBRouterServiceServer
	svc  *datasource.Service
	exec *fulltext.Executor
}

// New returns the adapter over the data source service and the search executor.
func New(svc *datasource.Service, exec *fulltext.Executor) *Server {
	return &Server{svc: svc, exec: exec}
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func connectionProto(c datasource.Connection) *dbrouterv1.Connection {
	return &dbrouterv1.Connection{
		Id:               c.ID,
		Name:             c.Name,
		Host:             c.Host,
		Port:             int32(c.Port),
		Database:         c.Database,
		Username:         c.Username,
		Ssl:              c.SSL,
		IsActive:         c.IsActive,
		CreatedAt:        ts(c.CreatedAt),
		UpdatedAt:        ts(c.UpdatedAt),
		ConnectionStatus: c.Status,
		LastTested:       ts(c.LastTested),
		AiEgress:         c.AIEgress,
		AiColumns:        c.AIColumns,
		Replicas:         replicasProto(c.Replicas),
		ReplicaStatus:    replicaStatusProto(c.ReplicaStatus),
	}
}

func replicasProto(rs []datasource.Replica) []*dbrouterv1.Replica {
	out := make([]*dbrouterv1.Replica, len(rs))
	for i, r := range rs {
		out[i] = &dbrouterv1.Replica{Host: r.Host, Port: int32(r.Port)}
	}
	return out
}

func replicaStatusProto(hs []datasource.ReplicaHealth) []*dbrouterv1.ReplicaStatus {
	out := make([]*dbrouterv1.ReplicaStatus, len(hs))
	for i, h := range hs {
		lag := int32(-1)
		if h.Lag >= 0 {
			lag = int32(h.Lag / time.Second)
		}
		out[i] = &dbrouterv1.ReplicaStatus{
			Host: h.Addr.Host, Port: int32(h.Addr.Port), State: h.State, Reason: h.Reason,
			LagSeconds: lag, CheckedAt: ts(h.CheckedAt),
		}
	}
	return out
}

func replicasDomain(rs []*dbrouterv1.Replica) []datasource.Replica {
	if len(rs) == 0 {
		return nil
	}
	out := make([]datasource.Replica, len(rs))
	for i, r := range rs {
		out[i] = datasource.Replica{Host: r.GetHost(), Port: int(r.GetPort())}
	}
	return out
}

func intPtr(p *int32) *int {
	if p == nil {
		return nil
	}
	v := int(*p)
	return &v
}

// ListDataSources implements DBRouterService.ListDataSources.
func (s *Server) ListDataSources(ctx context.Context, _ *dbrouterv1.ListDataSourcesRequest) (*dbrouterv1.ListDataSourcesResponse, error) {
	userID, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	list, err := s.svc.List(ctx, userID)
	if err != nil {
		return nil, mapErr(err)
	}
	resp := &dbrouterv1.ListDataSourcesResponse{Connections: make([]*dbrouterv1.Connection, len(list))}
	for i, c := range list {
		resp.Connections[i] = connectionProto(c)
	}
	return resp, nil
}

// CreateDataSource implements DBRouterService.CreateDataSource.
func (s *Server) CreateDataSource(ctx context.Context, req *dbrouterv1.CreateDataSourceRequest) (*dbrouterv1.CreateDataSourceResponse, error) {
	userID, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.svc.Create(ctx, userID, datasource.CreateInput{
		Name:      req.GetName(),
		Host:      req.GetHost(),
		Port:      intPtr(req.Port),
		Database:  req.GetDatabase(),
		Username:  req.GetUsername(),
		Password:  req.GetPassword(),
		SSL:       req.GetSsl(),
		AIEgress:  req.GetAiEgress(),
		AIColumns: req.GetAiColumns(),
		Replicas:  replicasDomain(req.GetReplicas()),
	})
	if err != nil {
		return nil, mapErr(err)
	}
	return &dbrouterv1.CreateDataSourceResponse{Connection: connectionProto(c)}, nil
}

// GetDataSource implements DBRouterService.GetDataSource.
func (s *Server) GetDataSource(ctx context.Context, req *dbrouterv1.GetDataSourceRequest) (*dbrouterv1.GetDataSourceResponse, error) {
	userID, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.svc.Get(ctx, userID, req.GetId())
	if err != nil {
		return nil, mapErr(err)
	}
	return &dbrouterv1.GetDataSourceResponse{Connection: connectionProto(c)}, nil
}

// GetDataSourceStatus implements DBRouterService.GetDataSourceStatus.
func (s *Server) GetDataSourceStatus(ctx context.Context, _ *dbrouterv1.GetDataSourceStatusRequest) (*dbrouterv1.GetDataSourceStatusResponse, error) {
	userID, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	statuses, err := s.svc.Statuses(ctx, userID)
	if err != nil {
		return nil, mapErr(err)
	}
	return &dbrouterv1.GetDataSourceStatusResponse{Statuses: statuses}, nil
}

// UpdateDataSource implements DBRouterService.UpdateDataSource.
func (s *Server) UpdateDataSource(ctx context.Context, req *dbrouterv1.UpdateDataSourceRequest) (*dbrouterv1.UpdateDataSourceResponse, error) {
	userID, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.svc.Update(ctx, userID, req.GetId(), datasource.UpdateInput{
		Name:          req.Name,
		Host:          req.Host,
		Port:          intPtr(req.Port),
		Database:      req.Database,
		Username:      req.Username,
		Password:      req.Password,
		SSL:           req.Ssl,
		AIEgress:      req.AiEgress,
		AIColumns:     req.GetAiColumns(),
		Replicas:      replicasDomain(req.GetReplicas()),
		ClearReplicas: req.GetClearReplicas(),
	})
	if err != nil {
		return nil, mapErr(err)
	}
	return &dbrouterv1.UpdateDataSourceResponse{Connection: connectionProto(c)}, nil
}

// DeleteDataSource implements DBRouterService.DeleteDataSource.
func (s *Server) DeleteDataSource(ctx context.Context, req *dbrouterv1.DeleteDataSourceRequest) (*dbrouterv1.DeleteDataSourceResponse, error) {
	userID, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.svc.Delete(ctx, userID, req.GetId()); err != nil {
		return nil, mapErr(err)
	}
	return &dbrouterv1.DeleteDataSourceResponse{Success: true}, nil
}

// TestDataSource implements DBRouterService.TestDataSource.
func (s *Server) TestDataSource(ctx context.Context, req *dbrouterv1.TestDataSourceRequest) (*dbrouterv1.TestDataSourceResponse, error) {
	userID, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.svc.Test(ctx, userID, req.GetId())
	if err != nil {
		return nil, mapErr(err)
	}
	return &dbrouterv1.TestDataSourceResponse{
		Connected:     r.Connected,
		Message:       r.Message,
		LatencyMs:     int32(min(r.Latency.Milliseconds(), math.MaxInt32)),
		ServerVersion: r.ServerVersion,
	}, nil
}

// GetDataSourceSchema implements DBRouterService.GetDataSourceSchema.
func (s *Server) GetDataSourceSchema(ctx context.Context, req *dbrouterv1.GetDataSourceSchemaRequest) (*dbrouterv1.GetDataSourceSchemaResponse, error) {
	userID, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	sc, err := s.svc.Schema(ctx, userID, req.GetId(), req.GetRefresh())
	if err != nil {
		return nil, mapErr(err)
	}
	resp := &dbrouterv1.GetDataSourceSchemaResponse{Tables: make([]*dbrouterv1.TableSchema, len(sc.Tables))}
	for i, t := range sc.Tables {
		resp.Tables[i] = tableProto(t)
	}
	return resp, nil
}

func tableProto(t schema.Table) *dbrouterv1.TableSchema {
	out := &dbrouterv1.TableSchema{
		Database:        t.Database,
		Table:           t.Name,
		Columns:         make([]*dbrouterv1.Column, len(t.Columns)),
		FullTextIndexes: make([]*dbrouterv1.FullTextIndex, len(t.FullTextIndexes)),
		EstimatedRows:   t.EstimatedRows,
		LastAnalyzed:    ts(t.LastAnalyzed),
		PrimaryKey:      append([]string{}, t.PrimaryKey...),
		Engine:          t.Engine,
	}
	for i, c := range t.Columns {
		out.Columns[i] = &dbrouterv1.Column{
			Name: c.Name, Type: c.Type, IsFullTextIndexed: c.IsFullTextIndexed, IsSearchable: c.IsSearchable, IsPrimaryKey: c.IsPrimaryKey, MaxChars: c.MaxChars,
		}
	}
	for i, ix := range t.FullTextIndexes {
		out.FullTextIndexes[i] = &dbrouterv1.FullTextIndex{Name: ix.Name, Columns: append([]string{}, ix.Columns...), Type: "FULLTEXT"}
	}
	return out
}
