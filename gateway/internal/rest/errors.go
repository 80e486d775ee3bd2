package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/altus4/altus/pkg/grpcx"
)

// httpStatus maps canonical codes to HTTP statuses. It is the one table of
// the edge; v1 error codes come from the ErrorInfo reason when there is one.
var httpStatus = map[codes.Code]int{
	codes.OK:                 http.StatusOK,
	codes.Canceled:           499,
	codes.Unknown:            http.StatusInternalServerError,
	codes.InvalidArgument:    http.StatusBadRequest,
	codes.DeadlineExceeded:   http.StatusGatewayTimeout,
	codes.NotFound:           http.StatusNotFound,
	codes.AlreadyExists:      http.StatusConflict,
	codes.PermissionDenied:   http.StatusForbidden,
	codes.ResourceExhausted:  http.StatusTooManyRequests,
	codes.FailedPrecondition: http.StatusBadRequest,
	codes.Aborted:            http.StatusConflict,
	codes.OutOfRange:         http.StatusBadRequest,
	codes.Unimplemented:      http.StatusNotImplemented,
	codes.Internal:           http.StatusInternalServerError,
	codes.Unavailable:        http.StatusServiceUnavailable,
	codes.DataLoss:           http.StatusInternalServerError,
	codes.Unauthenticated:    http.StatusUnauthorized,
}

// defaultCode is the v1 error code of a status without a reason.
var defaultCode = map[codes.Code]string{
	codes.Canceled:           "REQUEST_CANCELLED",
	codes.Unknown:            "INTERNAL_ERROR",
	codes.InvalidArgument:    "VALIDATION_ERROR",
	codes.DeadlineExceeded:   "TIMEOUT",
	codes.NotFound:           "NOT_FOUND",
	codes.AlreadyExists:      "CONFLICT",
	codes.PermissionDenied:   "FORBIDDEN",
	codes.ResourceExhausted:  "RATE_LIMIT_EXCEEDED",
	codes.FailedPrecondition: "FAILED_PRECONDITION",
	codes.Aborted:            "CONFLICT",
	codes.OutOfRange:         "VALIDATION_ERROR",
	codes.Unimplemented:      "NOT_IMPLEMENTED",
	codes.Internal:           "INTERNAL_ERROR",
	codes.Unavailable:        "SERVICE_UNAVAILABLE",
	codes.DataLoss:           "INTERNAL_ERROR",
	codes.Unauthenticated:    "INVALID_TOKEN",
}

// APIError is an error expressed in v1 terms.
type APIError struct {
	Status  int
	Code    string
	Message string
	Details any
}

var decodeField = regexp.MustCompile(`(?:field|for field|type for field) "?([A-Za-z0-9_.]+)"?`)

// FromStatus converts a gRPC error into its v1 form.
func FromStatus(err error) APIError {
	st := status.Convert(err)
	code := st.Code()
	out := APIError{Status: httpStatus[code], Code: defaultCode[code], Message: st.Message()}
	if out.Status == 0 {
		out.Status = http.StatusInternalServerError
		out.Code = "INTERNAL_ERROR"
	}
	var fields []FieldDetail
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if d.GetReason() != "" {
				out.Code = d.GetReason()
			}
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fields = append(fields, FieldDetail{Field: v.GetField(), Message: v.GetDescription(), Code: v.GetReason()})
			}
		}
	}
	if fields != nil {
		out.Details = fields
	}
	switch {
	case code == codes.InvalidArgument && grpcx.Info(err) == nil:
		// The gateway's own decoder rejected the body or query (a value of
		// the wrong type): a validation error about that field.
		field, msg := describeDecodeError(st.Message())
		out.Message = msg
		out.Details = []FieldDetail{{Field: field, Message: out.Message, Code: "INVALID_TYPE"}}
	case code == codes.Unavailable && grpcx.Info(err) == nil:
		out.Message = "A service this request needs is unavailable; try again shortly."
	case code == codes.Unimplemented && grpcx.Info(err) == nil:
		out.Message = "This route is not implemented yet."
	case code == codes.DeadlineExceeded && grpcx.Info(err) == nil:
		out.Message = "The request took too long."
	}
	return out
}

var (
	// protojson, for a request body: invalid value for int32 field limit: "abc"
	bodyValue = regexp.MustCompile(`invalid value for (\w+) field ([A-Za-z0-9_.]+): (.*)$`)
	// grpc-gateway, for a query parameter: parsing field "limit":
	// strconv.ParseInt: parsing "abc": invalid syntax
	queryValue = regexp.MustCompile(`parsing field "([A-Za-z0-9_.]+)": strconv\.Parse(\w+): parsing (".*"): (invalid syntax|value out of range)`)
	// protojson's syntax errors: syntax error (line 1:26): unexpected token "x"
	syntaxAt = regexp.MustCompile(`^syntax error \(line (\d+):(\d+)\): (.*)$`)
)

// kinds says, for a proto scalar type or a strconv parser, what a value
// must be.
var kinds = map[string]string{
	"int32": "a whole number", "int64": "a whole number", "sint32": "a whole number", "sint64": "a whole number",
	"sfixed32": "a whole number", "sfixed64": "a whole number", "Int": "a whole number",
	"uint32": "a whole number of zero or more", "uint64": "a whole number of zero or more",
	"fixed32": "a whole number of zero or more", "fixed64": "a whole number of zero or more", "Uint": "a whole number of zero or more",
	"float": "a number", "double": "a number", "Float": "a number",
	"bool": "true or false", "Bool": "true or false",
	"string": "a string", "bytes": "base64 text", "enum": "one of its named values",
}

// describeDecodeError turns the decoder's message about a value of the
// wrong type into the field it names and a sentence a person can act on
// ("limit must be a whole number; got \"abc\"."); a message it does not
// recognise is passed on, cleaned of the decoder's prefixes.
func describeDecodeError(m string) (field, msg string) {
	m = cleanDecodeMessage(m)
	if g := queryValue.FindStringSubmatch(m); g != nil {
		field, kind, got := g[1], kinds[g[2]], g[3]
		if g[4] == "value out of range" {
			return field, fmt.Sprintf("%s is out of range; got %s.", field, got)
		}
		if kind == "" {
			kind = "a value of another type"
		}
		return field, fmt.Sprintf("%s must be %s; got %s.", field, kind, got)
	}
	if g := bodyValue.FindStringSubmatch(m); g != nil {
		field, typ, got := g[2], g[1], g[3]
		kind := kinds[typ]
		if kind == "" {
			return field, fmt.Sprintf("%s has a value of the wrong type; got %s.", field, got)
		}
		if strings.Contains(kind, "whole number") && !strings.HasPrefix(got, "-") {
			if _, err := strconv.ParseFloat(got, 64); err == nil && !strings.ContainsAny(got, ".eE") {
				// A whole number the field's type cannot hold.
				return field, fmt.Sprintf("%s is out of range; got %s.", field, got)
			}
		}
		return field, fmt.Sprintf("%s must be %s; got %s.", field, kind, got)
	}
	if g := syntaxAt.FindStringSubmatch(m); g != nil {
		return "", fmt.Sprintf("The request body could not be read at line %s, column %s: %s (a field of another type than the API takes?).", g[1], g[2], g[3])
	}
	if g := decodeField.FindStringSubmatch(m); g != nil {
		field = g[1]
	}
	return field, "A field has a value of the wrong type: " + m
}

func cleanDecodeMessage(m string) string {
	m = strings.TrimPrefix(m, "proto: ")
	if i := strings.Index(m, "): "); i >= 0 && strings.HasPrefix(m, "(") {
		m = m[i+3:]
	}
	return m
}

// handleError is grpc-gateway's error handler: every error, whether from a
// backend or from the gateway's decoding, leaves in the v1 envelope.
func handleError(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	var he *runtime.HTTPStatusError
	if errors.As(err, &he) {
		WriteError(w, r, he.HTTPStatus, "VALIDATION_ERROR", he.Err.Error(), nil)
		return
	}
	e := FromStatus(err)
	WriteError(w, r, e.Status, e.Code, e.Message, e.Details)
}

// handleRoutingError answers unknown routes with JSON 404 and known routes
// called with the wrong method with 405.
func handleRoutingError(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	switch httpStatus {
	case http.StatusMethodNotAllowed:
		WriteError(w, r, httpStatus, "METHOD_NOT_ALLOWED", "Method "+r.Method+" is not allowed on "+r.URL.Path+".", nil)
	case http.StatusBadRequest:
		WriteError(w, r, httpStatus, "VALIDATION_ERROR", "The request path is malformed.", nil)
	default:
		WriteError(w, r, http.StatusNotFound, "NOT_FOUND", "Route "+r.Method+" "+r.URL.Path+" not found.", nil)
	}
}
