package e2e

import (
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpCapture is an OTLP/HTTP trace receiver that remembers which services
// sent spans for which trace.
type otlpCapture struct {
	mu    sync.Mutex
	spans map[string]map[string][]string // trace id -> service -> span names
}

func (c *otlpCapture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || r.URL.Path != "/v1/traces" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				id := hex.EncodeToString(sp.GetTraceId())
				if c.spans[id] == nil {
					c.spans[id] = map[string][]string{}
				}
				c.spans[id][service] = append(c.spans[id][service], sp.GetName())
			}
		}
	}
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	b, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Write(b)
}

func (c *otlpCapture) services(traceID string) map[string][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string][]string{}
	for k, v := range c.spans[traceID] {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// startTracedSuite starts an OTLP/HTTP receiver and a suite exporting its
// spans to it.
func startTracedSuite(t *testing.T) (*otlpCapture, *Suite) {
	t.Helper()
	return startTraced(t, StartSuite)
}

// startTraced is startTracedSuite with the suite started by start.
func startTraced(t *testing.T, start func(testing.TB, map[string]string) *Suite) (*otlpCapture, *Suite) {
	t.Helper()
	capture := &otlpCapture{spans: map[string]map[string][]string{}}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: capture}
	go srv.Serve(lis)
	t.Cleanup(func() { srv.Close() })
	s := start(t, map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + lis.Addr().String(),
		"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
		"OTEL_BSP_SCHEDULE_DELAY":     "100",
	})
	return capture, s
}

// One request's trace id is carried from the client through the gateway to
// the account service (credential check) and the dbrouter service (listing).
func TestOneTraceSpansGatewayAccountAndDBRouter(t *testing.T) {
	capture, s := startTracedSuite(t)
	u := s.Register(t)

	traceID := strings.Repeat("ab", 8) + randomHex(8)
	r := s.Call(t, http.MethodGet, "/api/v1/databases", u.Token, nil, "traceparent", "00-"+traceID+"-"+randomHex(8)+"-01")
	Expect(t, r, http.StatusOK, "")

	want := []string{"account", "dbrouter", "gateway"}
	var got map[string][]string
	ok := eventually(t, 15*time.Second, func() bool {
		got = capture.services(traceID)
		for _, svc := range want {
			if len(got[svc]) == 0 {
				return false
			}
		}
		return true
	})
	if !ok {
		var names []string
		for k := range got {
			names = append(names, k)
		}
		sort.Strings(names)
		t.Fatalf("trace %s has spans from %v, want at least %v: %v", traceID, names, want, got)
	}
	joined := strings.Join(got["account"], ",") + "|" + strings.Join(got["dbrouter"], ",")
	if !strings.Contains(joined, "altus.account.v1.AccountService/VerifyToken") || !strings.Contains(joined, "altus.dbrouter.v1.DBRouterService/ListDataSources") {
		t.Fatalf("server spans = %s", joined)
	}
}
