package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
)

// Outcome is how one request went.
type Outcome struct {
	// Kind names the failure ("http 429 RATE_LIMIT_EXCEEDED", "grpc
	// Unimplemented", "mysql 1064", "timeout", ...); empty on success.
	Kind string
	// Detail is the failure's message (kept once per kind as an example).
	Detail string
	// Cached reports that the answer came from the result cache.
	Cached bool
}

// OK reports whether the request succeeded.
func (o Outcome) OK() bool { return o.Kind == "" }

// Target is what the simulated users call.
type Target interface {
	// Name is "rest", "grpc" or "sql".
	Name() string
	// Prepare readies the target for queries (request bodies, statements).
	Prepare(ctx context.Context, queries []Query) error
	// Do sends queries[qi] once; noCache asks the server to bypass its
	// result cache.
	Do(ctx context.Context, qi int, noCache bool) Outcome
	// Close releases connections.
	Close() error
}

// SearchOptions are the request fields every search target sends.
type SearchOptions struct {
	// Databases restricts the search to these source ids (empty: all).
	Databases []string
	// Limit is the page size.
	Limit int
}

// NoCacheHeader is the HTTP header (and, lower-cased, the gRPC metadata
// key) whose value "no-cache" asks the search service to bypass its result
// cache lookup for an uncached measurement.
const NoCacheHeader = "Cache-Control"

// keyRing hands out API keys round-robin, so that a run's requests are
// spread over several keys' rate-limit allowances.
type keyRing struct {
	keys []string
	next atomic.Uint64
}

func (k *keyRing) pick() string {
	if len(k.keys) == 0 {
		return ""
	}
	return k.keys[(k.next.Add(1)-1)%uint64(len(k.keys))]
}

// REST posts searches to the gateway's POST /api/v1/search.
type REST struct {
	url    string
	keys   keyRing
	opts   SearchOptions
	client *http.Client
	bodies [][]byte
}

// NewREST returns the rest target for the gateway at baseURL; keys are
// used in turn, maxConns bounds the idle connections kept.
func NewREST(baseURL string, keys []string, opts SearchOptions, maxConns int) *REST {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        maxConns,
		MaxIdleConnsPerHost: maxConns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &REST{
		url:    strings.TrimRight(baseURL, "/") + "/api/v1/search",
		keys:   keyRing{keys: keys},
		opts:   opts,
		client: &http.Client{Transport: tr},
	}
}

// Name implements Target.
func (r *REST) Name() string { return "rest" }

// Prepare implements Target: the request bodies are marshalled once.
func (r *REST) Prepare(_ context.Context, queries []Query) error {
	r.bodies = make([][]byte, len(queries))
	for i, q := range queries {
		body := map[string]any{"query": q.Text, "searchMode": q.Mode}
		if len(r.opts.Databases) > 0 {
			body["databases"] = r.opts.Databases
		}
		if r.opts.Limit > 0 {
			body["limit"] = r.opts.Limit
		}
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r.bodies[i] = b
	}
	return nil
}

// restAnswer is the part of the v1 envelope the rest target reads.
type restAnswer struct {
	Success bool `json:"success"`
	Data    struct {
		Cached bool `json:"cached"`
	} `json:"data"`
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// bodyBuffers are the buffers answers are read into.
var bodyBuffers = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 64<<10)) }}

// Do implements Target.
func (r *REST) Do(ctx context.Context, qi int, noCache bool) Outcome {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(r.bodies[qi]))
	if err != nil {
		return Outcome{Kind: "request", Detail: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	if k := r.keys.pick(); k != "" {
		req.Header.Set("Authorization", "Bearer "+k)
	}
	if noCache {
		req.Header.Set(NoCacheHeader, "no-cache")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return transportOutcome(err)
	}
	defer resp.Body.Close()
	// Pages are tens of KB: read into a reused buffer, not a new one
	// grown step by step for every answer (the tool shares the cores).
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer bodyBuffers.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return transportOutcome(err)
	}
	body := buf.Bytes()
	if resp.StatusCode == http.StatusOK {
		// A successful page is tens of KB: decoding it would cost the tool
		// more CPU than the gateway spends on it, on the same cores. The
		// gateway writes "success" first and "cached" first in data.
		head := body[:min(len(body), 64)]
		if bytes.HasPrefix(head, []byte(`{"success":true,"data":{`)) {
			return Outcome{Cached: bytes.Contains(head, []byte(`"cached":true`))}
		}
	}
	var a restAnswer
	derr := json.Unmarshal(body, &a)
	switch {
	case resp.StatusCode == http.StatusOK && derr != nil:
		return Outcome{Kind: "http bad body", Detail: derr.Error()}
	case resp.StatusCode != http.StatusOK || !a.Success:
		kind := fmt.Sprintf("http %d", resp.StatusCode)
		if a.Error.Code != "" {
			kind += " " + a.Error.Code
		}
		return Outcome{Kind: kind, Detail: a.Error.Message}
	}
	return Outcome{Cached: a.Data.Cached}
}

// Close implements Target.
func (r *REST) Close() error {
	r.client.CloseIdleConnections()
	return nil
}

// GRPC calls altus.search.v1.SearchService/Search directly, authenticated
// with "authorization: Bearer <API key>" metadata.
type GRPC struct {
	conn   *grpc.ClientConn
	client searchv1.SearchServiceClient
	keys   keyRing
	opts   SearchOptions
	reqs   []*searchv1.SearchRequest
}

// NewGRPC returns the grpc target for the search service at addr.
func NewGRPC(addr string, keys []string, opts SearchOptions) (*GRPC, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("load: dial %s: %w", addr, err)
	}
	return &GRPC{conn: conn, client: searchv1.NewSearchServiceClient(conn), keys: keyRing{keys: keys}, opts: opts}, nil
}

// Name implements Target.
func (g *GRPC) Name() string { return "grpc" }

// Prepare implements Target.
func (g *GRPC) Prepare(_ context.Context, queries []Query) error {
	g.reqs = make([]*searchv1.SearchRequest, len(queries))
	for i, q := range queries {
		g.reqs[i] = &searchv1.SearchRequest{
			Query: q.Text, SearchMode: q.Mode, Databases: g.opts.Databases, Limit: int32(g.opts.Limit),
		}
	}
	return nil
}

// Do implements Target.
func (g *GRPC) Do(ctx context.Context, qi int, noCache bool) Outcome {
	md := metadata.MD{}
	if k := g.keys.pick(); k != "" {
		md.Set("authorization", "Bearer "+k)
	}
	if noCache {
		md.Set(strings.ToLower(NoCacheHeader), "no-cache")
	}
	resp, err := g.client.Search(metadata.NewOutgoingContext(ctx, md), g.reqs[qi])
	if err != nil {
		return grpcOutcome(err)
	}
	return Outcome{Cached: resp.GetCached()}
}

// Close implements Target.
func (g *GRPC) Close() error { return g.conn.Close() }

func grpcOutcome(err error) Outcome {
	st, ok := status.FromError(err)
	if !ok {
		return transportOutcome(err)
	}
	if st.Code() == codes.DeadlineExceeded {
		return Outcome{Kind: "timeout", Detail: st.Message()}
	}
	kind := "grpc " + st.Code().String()
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetReason() != "" {
			kind += " " + info.GetReason()
			break
		}
	}
	return Outcome{Kind: kind, Detail: st.Message()}
}

// transportOutcome names a failure below the protocol.
func transportOutcome(err error) Outcome {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return Outcome{Kind: "timeout", Detail: err.Error()}
	case errors.Is(err, syscall.ECONNREFUSED):
		return Outcome{Kind: "connection refused", Detail: err.Error()}
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return Outcome{Kind: "connection reset", Detail: err.Error()}
	case errors.Is(err, context.Canceled):
		return Outcome{Kind: "canceled", Detail: err.Error()}
	}
	return Outcome{Kind: "transport", Detail: err.Error()}
}
