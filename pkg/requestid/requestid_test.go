package requestid

import (
	"strings"
	"testing"
)

func TestSanitizeKeepsSaneIDsAndReplacesOthers(t *testing.T) {
	tests := []struct {
		in   string
		keep bool
	}{
		{"abc-123_X.y:z", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"", false},
		{"has space", false},
		{"line\nbreak", false},
		{"<script>", false},
	}
	for _, tt := range tests {
		got := Sanitize(tt.in)
		if (got == tt.in) != tt.keep {
			t.Errorf("Sanitize(%q) = %q, keep=%v", tt.in, got, tt.keep)
		}
		if got == "" {
			t.Errorf("Sanitize(%q) returned empty", tt.in)
		}
	}
}
