package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/altus4/altus/pkg/requestid"
)

func TestLogRecordsCarryTraceSpanAndRequestIDsFromTheContext(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, slog.LevelInfo, "search")

	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled})
	ctx := requestid.With(trace.ContextWithSpanContext(context.Background(), sc), "req-42")

	log.InfoContext(ctx, "served", "rows", 3)
	log.Info("no context")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", buf.String())
	}
	var withCtx, without map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &withCtx); err != nil {
		t.Fatalf("first line is not JSON: %v: %s", err, lines[0])
	}
	if err := json.Unmarshal([]byte(lines[1]), &without); err != nil {
		t.Fatalf("second line is not JSON: %v: %s", err, lines[1])
	}
	want := map[string]any{
		"msg": "served", "service": "search", "rows": float64(3),
		"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7", "request_id": "req-42",
	}
	for k, v := range want {
		if withCtx[k] != v {
			t.Errorf("%s = %v, want %v (line %s)", k, withCtx[k], v, lines[0])
		}
	}
	for _, k := range []string{"trace_id", "span_id", "request_id"} {
		if _, ok := without[k]; ok {
			t.Errorf("a record without a context carries %s: %s", k, lines[1])
		}
	}
}

func TestLogIDsSurviveWithAndWithGroup(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, slog.LevelInfo, "gateway").With("component", "rest").WithGroup("call")
	log.InfoContext(requestid.With(context.Background(), "req-7"), "done", "status", 200)
	if !strings.Contains(buf.String(), `"request_id":"req-7"`) || !strings.Contains(buf.String(), `"component":"rest"`) {
		t.Fatalf("line = %s", buf.String())
	}
}

// Without OTEL_EXPORTER_OTLP_ENDPOINT nothing is exported and nothing fails,
// yet spans still have ids for logs and the W3C trace context is propagated.
func TestTracingWithoutAnEndpointExportsNothingAndStillPropagates(t *testing.T) {
	var asked []string
	getenv := func(k string) string { asked = append(asked, k); return "" }
	shutdown, err := SetupTracing(context.Background(), TracingConfig{ServiceName: "account", Version: "test", Getenv: getenv})
	if err != nil {
		t.Fatalf("SetupTracing without an endpoint: %v", err)
	}
	if !slices.Contains(asked, "OTEL_EXPORTER_OTLP_ENDPOINT") {
		t.Fatalf("OTEL_EXPORTER_OTLP_ENDPOINT was not consulted (asked %v)", asked)
	}

	ctx, span := otel.Tracer("test").Start(context.Background(), "op")
	sc := span.SpanContext()
	if !sc.IsValid() {
		t.Fatal("a span without an exporter has no ids")
	}
	if span.IsRecording() || sc.IsSampled() {
		t.Fatal("a span without an exporter is recorded")
	}
	carrier := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	if tp := carrier.Get("traceparent"); !strings.HasPrefix(tp, "00-"+sc.TraceID().String()+"-") {
		t.Fatalf("traceparent = %q, want the span's trace id %s", tp, sc.TraceID())
	}
	span.End()

	// An incoming W3C context is continued: same trace id.
	in := propagation.MapCarrier{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	_, child := otel.Tracer("test").Start(otel.GetTextMapPropagator().Extract(context.Background(), in), "child")
	if got := child.SpanContext().TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("child trace id = %s", got)
	}
	child.End()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := shutdown(ctx); err != nil {
		t.Fatalf("shutdown without an exporter: %v", err)
	}
}

// With OTEL_EXPORTER_OTLP_ENDPOINT set, spans go there over OTLP/HTTP under
// OTEL_SERVICE_NAME, and shutdown flushes them.
func TestTracingWithAnEndpointExportsUnderOTELServiceName(t *testing.T) {
	var mu sync.Mutex
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/v1/traces" {
			mu.Lock()
			bodies = append(bodies, b)
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_SERVICE_NAME", "renamed-service")

	shutdown, err := SetupTracing(context.Background(), TracingConfig{ServiceName: "dbrouter", Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	_, span := otel.Tracer("test").Start(context.Background(), "exported-operation")
	if !span.IsRecording() {
		t.Fatal("a span with an exporter is not recorded")
	}
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	all := bytes.Join(bodies, nil)
	if !bytes.Contains(all, []byte("exported-operation")) || !bytes.Contains(all, []byte("renamed-service")) {
		t.Fatalf("the receiver got %d requests without the span or the service name", len(bodies))
	}
}

func TestUnknownOTLPProtocolIsAnError(t *testing.T) {
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"}
	_, err := SetupTracing(context.Background(), TracingConfig{ServiceName: "x", Getenv: func(k string) string { return env[k] }})
	if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_PROTOCOL") {
		t.Fatalf("err = %v", err)
	}
}
