package rest

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/validate"
)

func TestFromStatusMapsCodesAndReasonsToV1(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
	}{
		{"reason wins", grpcx.Error(codes.AlreadyExists, "USER_ALREADY_EXISTS", "taken"), http.StatusConflict, "USER_ALREADY_EXISTS"},
		{"unauthenticated reason", grpcx.Error(codes.Unauthenticated, "TOKEN_EXPIRED", "expired"), http.StatusUnauthorized, "TOKEN_EXPIRED"},
		{"not found reason", grpcx.Error(codes.NotFound, "CONNECTION_NOT_FOUND", "no"), http.StatusNotFound, "CONNECTION_NOT_FOUND"},
		{"failed precondition is 400", grpcx.Error(codes.FailedPrecondition, "DATABASE_CONNECTION_FAILED", "no"), http.StatusBadRequest, "DATABASE_CONNECTION_FAILED"},
		{"permission denied", grpcx.Error(codes.PermissionDenied, "INSUFFICIENT_PRIVILEGES", "no"), http.StatusForbidden, "INSUFFICIENT_PRIVILEGES"},
		{"unavailable without reason", status.Error(codes.Unavailable, "connection refused"), http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE"},
		{"unimplemented", status.Error(codes.Unimplemented, "method Search not implemented"), http.StatusNotImplemented, "NOT_IMPLEMENTED"},
		{"internal", grpcx.Error(codes.Internal, grpcx.ReasonInternal, "Internal error (reference x)."), http.StatusInternalServerError, "INTERNAL_ERROR"},
		{"deadline", status.Error(codes.DeadlineExceeded, "context deadline exceeded"), http.StatusGatewayTimeout, "TIMEOUT"},
		{"decoder type error", status.Error(codes.InvalidArgument, `proto: (line 1:10): invalid value for string field email: 5`), http.StatusBadRequest, "VALIDATION_ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromStatus(tt.err)
			if got.Status != tt.wantStatus || got.Code != tt.wantCode {
				t.Fatalf("FromStatus = %d %s, want %d %s", got.Status, got.Code, tt.wantStatus, tt.wantCode)
			}
		})
	}
}

func TestFromStatusCarriesFieldViolations(t *testing.T) {
	var c validate.Collector
	c.Add("email", "INVALID", "email is not an address")
	c.Add("password", "TOO_SHORT", "password needs 8 characters")
	got := FromStatus(grpcx.Validation(c.Err().(*validate.Error)))
	want := []FieldDetail{
		{Field: "email", Message: "email is not an address", Code: "INVALID"},
		{Field: "password", Message: "password needs 8 characters", Code: "TOO_SHORT"},
	}
	if got.Code != "VALIDATION_ERROR" || got.Status != http.StatusBadRequest {
		t.Fatalf("got %d %s, want 400 VALIDATION_ERROR", got.Status, got.Code)
	}
	if diff := cmp.Diff(want, got.Details); diff != "" {
		t.Fatalf("details (-want +got):\n%s", diff)
	}
}

func TestFromStatusNamesTheFieldOfADecodeError(t *testing.T) {
	got := FromStatus(status.Error(codes.InvalidArgument, `proto: (line 1:10): invalid value for int32 field limit: "abc"`))
	details, ok := got.Details.([]FieldDetail)
	if !ok || len(details) != 1 || details[0].Field != "limit" {
		t.Fatalf("details = %#v, want one detail for field limit", got.Details)
	}
}

func TestADecodeErrorSaysWhatTheValueMustBe(t *testing.T) {
	tests := []struct {
		decoder   string
		wantField string
		wantMsg   string
	}{
		{`proto: (line 1:10): invalid value for int32 field limit: "abc"`, "limit", `limit must be a whole number; got "abc".`},
		{`proto: (line 1:10): invalid value for int32 field limit: 1.5`, "limit", `limit must be a whole number; got 1.5.`},
		{`proto: (line 1:10): invalid value for int32 field limit: 99999999999`, "limit", `limit is out of range; got 99999999999.`},
		{`proto: (line 1:10): invalid value for uint32 field port: -1`, "port", `port must be a whole number of zero or more; got -1.`},
		{`proto: (line 1:1): invalid value for string field query: 5`, "query", `query must be a string; got 5.`},
		{`proto: (line 1:1): invalid value for bool field includeAnalytics: "x"`, "includeAnalytics", `includeAnalytics must be true or false; got "x".`},
		{`parsing field "limit": strconv.ParseInt: parsing "abc": invalid syntax`, "limit", `limit must be a whole number; got "abc".`},
		{`parsing field "limit": strconv.ParseInt: parsing "99999999999": value out of range`, "limit", `limit is out of range; got "99999999999".`},
		{`parsing field "ok": strconv.ParseBool: parsing "maybe": invalid syntax`, "ok", `ok must be true or false; got "maybe".`},
		{`proto: syntax error (line 1:26): unexpected token "x"`, "", `The request body could not be read at line 1, column 26: unexpected token "x" (a field of another type than the API takes?).`},
	}
	for _, tt := range tests {
		got := FromStatus(status.Error(codes.InvalidArgument, tt.decoder))
		if got.Status != http.StatusBadRequest || got.Code != "VALIDATION_ERROR" || got.Message != tt.wantMsg {
			t.Errorf("%s:\n got %d %s %q\nwant 400 VALIDATION_ERROR %q", tt.decoder, got.Status, got.Code, got.Message, tt.wantMsg)
		}
		want := []FieldDetail{{Field: tt.wantField, Message: tt.wantMsg, Code: "INVALID_TYPE"}}
		if diff := cmp.Diff(want, got.Details); diff != "" {
			t.Errorf("%s: details (-want +got):\n%s", tt.decoder, diff)
		}
	}
}
