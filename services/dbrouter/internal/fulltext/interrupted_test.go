package fulltext

import (
	"context"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// The server reports a statement stopped by its time limit in several ways
// depending on where it was stopped; every one of them is a TIMEOUT, not a
// refused statement.
func TestInterruptionsByTheTimeLimitAreTimeouts(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&mysql.MySQLError{Number: errMariaDBStatementTimeout}, true},
		{&mysql.MySQLError{Number: errMySQLQueryTimeout}, true},
		{&mysql.MySQLError{Number: errQueryInterrupted}, true},
		{fmt.Errorf("scan: %w", &mysql.MySQLError{Number: errEngineAborted}), true},
		{&mysql.MySQLError{Number: errSortAborted}, true},
		{context.DeadlineExceeded, true},
		{&mysql.MySQLError{Number: 1064}, false}, // a syntax error
		{&mysql.MySQLError{Number: 1191}, false}, // no FULLTEXT index for the column list
	}
	for _, tt := range tests {
		if got := isInterrupted(tt.err); got != tt.want {
			t.Errorf("isInterrupted(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
