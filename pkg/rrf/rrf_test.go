package rrf

import "testing"

func TestKeysCompareIntegersAsNumbersAndTheRestAsText(t *testing.T) {
	key := func(vs ...Value) []Value { return vs }
	tests := []struct {
		name string
		a, b []Value
		want int
	}{
		{"integers as numbers", key(KeyValue("9", true)), key(KeyValue("10", true)), -1},
		{"text as text", key(KeyValue("9", false)), key(KeyValue("10", false)), 1},
		{"an unsigned BIGINT past int64 stays text", key(KeyValue("18446744073709551615", true)), key(KeyValue("2", true)), -1},
		{"a number beside text compares as text", key(KeyValue("10", true)), key(KeyValue("9", false)), -1},
		{"the first value that differs decides", key(KeyValue("a", false), KeyValue("2", true)), key(KeyValue("a", false), KeyValue("10", true)), -1},
		{"a prefix first", key(KeyValue("a", false)), key(KeyValue("a", false), KeyValue("1", true)), -1},
		{"equal keys", key(KeyValue("7", true)), key(KeyValue("7", true)), 0},
	}
	for _, tt := range tests {
		if got := Compare(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: Compare = %d, want %d", tt.name, got, tt.want)
		}
		if got := Compare(tt.b, tt.a); got != -tt.want {
			t.Errorf("%s: reversed Compare = %d, want %d", tt.name, got, -tt.want)
		}
	}
}

func TestTermIsOneOverKPlusRank(t *testing.T) {
	if got, want := Term(K, 0), 1.0/61; got != want {
		t.Errorf("Term(60, 0) = %v, want %v", got, want)
	}
	if got, want := Term(1, 2), 1.0/4; got != want {
		t.Errorf("Term(1, 2) = %v, want %v", got, want)
	}
}
