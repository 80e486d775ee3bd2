// Package grpcx builds the suite's gRPC servers and clients the same way
// everywhere: OpenTelemetry stats handlers, keepalive, message size limits,
// one interceptor chain (recovery, request id, identity, trace-aware logging,
// error mapping), health and reflection. It also holds the status helpers
// that give every error a canonical code and a machine-readable reason.
package grpcx

import (
	"errors"
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/altus4/altus/pkg/validate"
)

// Domain is the ErrorInfo domain of every Altus error.
const Domain = "altus4.io"

// Reasons shared across services. Services define their own as well.
const (
	ReasonValidation      = "VALIDATION_ERROR"
	ReasonInternal        = "INTERNAL_ERROR"
	ReasonUnauthenticated = "UNAUTHENTICATED"
	ReasonUnavailable     = "SERVICE_UNAVAILABLE"
	ReasonTimeout         = "TIMEOUT"
	ReasonNotImplemented  = "NOT_IMPLEMENTED"
)

// Error returns a status error with code, a message for people and a
// machine-readable reason (an ErrorInfo detail) for programs.
func Error(code codes.Code, reason, msg string) error {
	return withInfo(status.New(code, msg), reason, nil).Err()
}

// Errorf is Error with a formatted message.
func Errorf(code codes.Code, reason, format string, args ...any) error {
	return Error(code, reason, fmt.Sprintf(format, args...))
}

// ErrorWithMetadata is Error with ErrorInfo metadata (e.g. a reference id).
func ErrorWithMetadata(code codes.Code, reason, msg string, md map[string]string) error {
	return withInfo(status.New(code, msg), reason, md).Err()
}

func withInfo(st *status.Status, reason string, md map[string]string) *status.Status {
	ds, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: Domain, Metadata: md})
	if err != nil {
		return st
	}
	return ds
}

// Reason returns the ErrorInfo reason of a status error, or "".
func Reason(err error) string {
	info := Info(err)
	if info == nil {
		return ""
	}
	return info.GetReason()
}

// Info returns the ErrorInfo detail of a status error, or nil.
func Info(err error) *errdetails.ErrorInfo {
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

// Validation converts a validation error into INVALID_ARGUMENT with reason
// VALIDATION_ERROR and one BadRequest field violation per problem.
func Validation(v *validate.Error) error {
	msg := "The request is invalid."
	if len(v.Violations) == 1 {
		msg = v.Violations[0].Message
	} else if len(v.Violations) > 1 {
		msg = fmt.Sprintf("The request has %d invalid fields.", len(v.Violations))
	}
	st := status.New(codes.InvalidArgument, msg)
	br := &errdetails.BadRequest{}
	for _, f := range v.Violations {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field: f.Field, Description: f.Message, Reason: f.Code,
		})
	}
	ds, err := st.WithDetails(&errdetails.ErrorInfo{Reason: ReasonValidation, Domain: Domain}, br)
	if err != nil {
		return st.Err()
	}
	return ds.Err()
}

// Mapping ties a domain error to a canonical code and a reason.
type Mapping struct {
	Err    error
	Code   codes.Code
	Reason string
}

// Map converts a domain error into a status error using table: status errors
// pass through, *validate.Error becomes VALIDATION_ERROR, an error matching
// (errors.Is) a row gets that row's code and reason with the error's own
// message, and anything else is returned unchanged for the server's error
// interceptor to mask as INTERNAL.
func Map(err error, table []Mapping) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var ve *validate.Error
	if errors.As(err, &ve) {
		return Validation(ve)
	}
	for _, m := range table {
		if errors.Is(err, m.Err) {
			return Error(m.Code, m.Reason, publicMessage(err, m.Err))
		}
	}
	return err
}

// publicMessage returns the sentinel's message: wrapped context may name
// internals (hosts, SQL), the sentinel is written for the caller.
func publicMessage(err, sentinel error) string {
	var pub interface{ PublicMessage() string }
	if errors.As(err, &pub) {
		return pub.PublicMessage()
	}
	return sentinel.Error()
}
