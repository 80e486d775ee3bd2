// Package telemetry sets up the three signals every Altus process emits:
// OpenTelemetry traces (exported with OTLP when configured), Prometheus
// metrics, and structured JSON logs that carry the trace and request ids.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
)

// TracingConfig says where traces go. The zero value traces in-process (ids
// for logs and propagation) and exports nothing.
type TracingConfig struct {
	// ServiceName is the default service.name; OTEL_SERVICE_NAME overrides it.
	ServiceName string
	// Version is reported as service.version.
	Version string
	// Getenv reads the standard OTEL_* variables; nil means os.Getenv.
	Getenv func(string) string
	// Exporter, when set, replaces the OTLP exporter (tests use an in-memory one).
	Exporter sdktrace.SpanExporter
}

// SetupTracing installs the global tracer provider and the W3C trace-context
// and baggage propagators. An OTLP exporter is created only when
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set;
// OTEL_EXPORTER_OTLP_PROTOCOL chooses "http/protobuf" (default) or "grpc",
// and the standard OTEL_TRACES_SAMPLER variables choose the sampling. With
// no exporter, spans are not recorded at all.
// The returned function flushes and stops the provider; call it last.
func SetupTracing(ctx context.Context, cfg TracingConfig) (func(context.Context) error, error) {
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	name := cfg.ServiceName
	if v := getenv("OTEL_SERVICE_NAME"); v != "" {
		name = v
	}
	res := resource.NewSchemaless(
		semconv.ServiceName(name),
		semconv.ServiceVersion(cfg.Version),
	)
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	exp := cfg.Exporter
	if exp == nil && (getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "") {
		var err error
		exp, err = newOTLPExporter(ctx, getenv)
		if err != nil {
			return nil, err
		}
	}
	if exp != nil {
		// The SDK reads OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG;
		// without them every trace is sampled (parent-based).
		opts = append(opts, sdktrace.WithBatcher(exp))
	} else {
		// Nothing to export to: spans still carry ids (for logs and for the
		// trace context passed on) but record nothing, which costs close to
		// nothing on every hop.
		opts = append(opts, sdktrace.WithSampler(sdktrace.NeverSample()))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return tp.Shutdown, nil
}

func newOTLPExporter(ctx context.Context, getenv func(string) string) (sdktrace.SpanExporter, error) {
	proto := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch strings.ToLower(proto) {
	case "", "http/protobuf":
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("telemetry: otlp http exporter: %w", err)
		}
		return exp, nil
	case "grpc":
		exp, err := otlptracegrpc.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("telemetry: otlp grpc exporter: %w", err)
		}
		return exp, nil
	default:
		return nil, errors.New(`telemetry: OTEL_EXPORTER_OTLP_PROTOCOL must be "http/protobuf" or "grpc", got "` + proto + `"`)
	}
}
