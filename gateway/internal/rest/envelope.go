// Package rest is the REST edge: grpc-gateway routes every v1 path to its
// gRPC service, and this package wraps every response in the v1 envelope
// ({success, data, error, meta}), authenticates and rate-limits callers by
// route, and maps gRPC errors to v1 HTTP statuses and error codes in one place.
package rest

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/altus4/altus/pkg/config"
	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/pkg/requestid"
	"github.com/altus4/altus/pkg/restjson"
)

// Meta is the v1 `meta` object present on every response.
type Meta struct {
	Timestamp     string `json:"timestamp"`
	RequestID     string `json:"requestId"`
	Version       string `json:"version"`
	ExecutionTime int64  `json:"executionTime"`
	APIKeyTier    string `json:"apiKeyTier,omitempty"`
}

// ErrorBody is the v1 `error` object.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

// FieldDetail is one entry of a validation error's details.
type FieldDetail struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	Code    string `json:"code"`
}

type startKey struct{}

// WithStart records when the request arrived, for meta.executionTime.
func WithStart(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, startKey{}, t)
}

// MetaFor builds the meta object of the request carried by ctx.
func MetaFor(ctx context.Context) Meta {
	now := time.Now()
	m := Meta{
		Timestamp: now.UTC().Format("2006-01-02T15:04:05.000Z"),
		RequestID: requestid.From(ctx),
		Version:   config.Version,
	}
	if start, ok := ctx.Value(startKey{}).(time.Time); ok {
		m.ExecutionTime = now.Sub(start).Milliseconds()
	}
	if p, ok := identity.From(ctx); ok && p.ViaAPIKey() {
		m.APIKeyTier = p.Tier
	}
	return m
}

// envelope is a successful response on its way to the marshaler.
type envelope struct {
	data any
	meta Meta
}

// rewriteResponse wraps a gRPC response (or the field its route's
// response_body names) in the envelope.
func rewriteResponse(ctx context.Context, resp proto.Message) (any, error) {
	var data any = resp
	if rb, ok := resp.(interface{ XXX_ResponseBody() any }); ok {
		data = rb.XXX_ResponseBody()
	}
	return &envelope{data: data, meta: MetaFor(ctx)}, nil
}

// Marshaler renders proto payloads with protojson (camelCase names, unset
// fields present as null/[]/0 as v1 clients expect) inside the envelope, and
// reads request bodies leniently (unknown fields are ignored).
type Marshaler struct {
	runtime.JSONPb
}

// NewMarshaler returns the gateway's marshaler.
func NewMarshaler() *Marshaler {
	return &Marshaler{JSONPb: runtime.JSONPb{
		MarshalOptions:   restjson.MarshalOptions,
		UnmarshalOptions: restjson.UnmarshalOptions,
	}}
}

// Marshal renders an envelope as {"success":true,"data":…,"meta":…}.
func (m *Marshaler) Marshal(v any) ([]byte, error) {
	env, ok := v.(*envelope)
	if !ok {
		return m.JSONPb.Marshal(v)
	}
	meta, err := json.Marshal(env.meta)
	if err != nil {
		return nil, err
	}
	if sr, ok := env.data.(*searchv1.SearchResponse); ok && len(sr.GetRenderedJson()) > 0 {
		// A page the search service rendered (restjson, the same options):
		// written once, with the per-request fields in front.
		rendered := sr.GetRenderedJson()
		b := make([]byte, 0, len(rendered)+len(meta)+160)
		return appendRenderedPage(b, sr.GetCached(), int64(sr.GetExecutionTime()), sr.GetSearchId(), rendered, meta), nil
	}
	var data []byte
	if sr, ok := env.data.(*searchv1.SearchResponse); ok {
		data, err = typedSearchPage(sr)
	} else {
		data, err = m.JSONPb.Marshal(env.data)
		if md := descriptorOf(env.data); md != nil && err == nil {
			// The REST API's numbers are JSON numbers, 64-bit ones too.
			data, err = restjson.Int64sAsNumbersOf(md, data)
		}
	}
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(data)+len(meta)+48)
	b = append(b, `{"success":true,"data":`...)
	b = append(b, data...)
	return appendMeta(b, meta), nil
}

// descriptorOf returns the message type of data, a message or a list of
// messages (a response_body field), or nil.
func descriptorOf(data any) protoreflect.MessageDescriptor {
	if m, ok := data.(proto.Message); ok {
		return m.ProtoReflect().Descriptor()
	}
	t := reflect.TypeOf(data)
	if t == nil || t.Kind() != reflect.Slice {
		return nil
	}
	if m, ok := reflect.Zero(t.Elem()).Interface().(proto.Message); ok {
		return m.ProtoReflect().Descriptor()
	}
	return nil
}

// appendRenderedPage appends the envelope of a search page rendered as
// REST JSON (a JSON object without the per-request members), with those
// members (cached, executionTime in ms, searchId) in front and meta after.
func appendRenderedPage(b []byte, cached bool, executionMs int64, searchID string, rendered, meta []byte) []byte {
	b = append(b, `{"success":true,"data":{"cached":`...)
	b = strconv.AppendBool(b, cached)
	b = append(b, `,"executionTime":`...)
	b = strconv.AppendInt(b, executionMs, 10)
	b = append(b, `,"searchId":`...)
	b = strconv.AppendQuote(b, searchID)
	if len(rendered) > 2 {
		b = append(b, ',')
	}
	b = append(b, rendered[1:]...)
	return appendMeta(b, meta)
}

func appendMeta(b, meta []byte) []byte {
	b = append(b, `,"meta":`...)
	b = append(b, meta...)
	return append(b, "}\n"...)
}

// typedSearchPage renders a search page the service did not pre-render,
// without renderedJson, an internal field of no REST shape.
func typedSearchPage(sr *searchv1.SearchResponse) ([]byte, error) {
	full, err := restjson.Render(sr)
	if err != nil {
		return nil, err
	}
	return restjson.WithoutKeys(full, "renderedJson")
}

// ContentType is always JSON.
func (m *Marshaler) ContentType(any) string { return "application/json; charset=utf-8" }

// WriteError writes a v1 error envelope.
func WriteError(w http.ResponseWriter, r *http.Request, status int, code, message string, details any) {
	body := struct {
		Success bool      `json:"success"`
		Error   ErrorBody `json:"error"`
		Meta    Meta      `json:"meta"`
	}{Error: ErrorBody{Code: code, Message: message, Details: details}, Meta: MetaFor(r.Context())}
	writeJSON(w, status, body)
}

// WriteData writes a v1 success envelope around a plain Go value.
func WriteData(w http.ResponseWriter, r *http.Request, status int, data any) {
	body := struct {
		Success bool `json:"success"`
		Data    any  `json:"data"`
		Meta    Meta `json:"meta"`
	}{Success: true, Data: data, Meta: MetaFor(r.Context())}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"success":false,"error":{"code":"INTERNAL_ERROR","message":"response encoding failed"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
