package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// value is the last value of key in environ (as the services read it).
func value(environ []string, key string) (string, bool) {
	v, ok := "", false
	for _, kv := range environ {
		if k, val, _ := strings.Cut(kv, "="); k == key {
			v, ok = val, true
		}
	}
	return v, ok
}

func TestEachServiceGetsItsOwnPortsAndTheOthersAddresses(t *testing.T) {
	envs, err := serviceEnvirons([]string{
		"DB_HOST=db.internal", "PORT=8080",
		"ALTUS_SEARCH_PORT=61001", "ALTUS_SEARCH_ADMIN_PORT=62001",
		"ALTUS_CACHE_ADDR=redis-cache.internal:7000",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, s := range services {
		env := envs[s.name]
		var row []string
		for _, k := range []string{"DB_HOST", "PORT", "ALTUS_GRPC_PORT", "ALTUS_ADMIN_PORT", "ALTUS_SEARCH_ADDR", "ALTUS_CACHE_ADDR", "ALTUS_DBROUTER_ADDR"} {
			if v, ok := value(env, k); ok {
				row = append(row, k+"="+v)
			}
		}
		got[s.name] = row
	}
	shared := []string{"ALTUS_SEARCH_ADDR=127.0.0.1:61001", "ALTUS_CACHE_ADDR=redis-cache.internal:7000", "ALTUS_DBROUTER_ADDR=127.0.0.1:50054"}
	with := func(own ...string) []string {
		return append(append([]string{"DB_HOST=db.internal", "PORT=8080"}, own...), shared...)
	}
	want := map[string][]string{
		// The binaries' defaults where nothing is set.
		"cache":    with("ALTUS_GRPC_PORT=50052"),
		"dbrouter": with("ALTUS_GRPC_PORT=50054"),
		"account":  with("ALTUS_GRPC_PORT=50055"),
		"enhance":  with("ALTUS_GRPC_PORT=50053"),
		"search":   with("ALTUS_GRPC_PORT=61001", "ALTUS_ADMIN_PORT=62001"),
		"gateway":  with(),
	}
	for name := range want {
		slices.SortFunc(want[name], strings.Compare)
		slices.SortFunc(got[name], strings.Compare)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("environments (-want +got):\n%s", diff)
	}
}

func TestOnePortForEveryServiceOrABadPortIsRefused(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want string
	}{
		{"ALTUS_GRPC_PORT=50051", "ALTUS_<SVC>_PORT"},
		{"ALTUS_ADMIN_PORT=9090", "ALTUS_<SVC>_ADMIN_PORT"},
		{"ALTUS_DBROUTER_PORT=port", `ALTUS_DBROUTER_PORT must be a port number (1-65535); got "port"`},
		{"ALTUS_CACHE_PORT=70000", "ALTUS_CACHE_PORT must be a port number"},
	} {
		_, err := serviceEnvirons([]string{tc.env})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.env, err, tc.want)
		}
	}
}

func TestUnknownArgumentsAreRefused(t *testing.T) {
	err := run(context.Background(), []string{"serve"})
	if err == nil || !strings.Contains(err.Error(), "altus migrate") {
		t.Fatalf("run(serve) = %v, want the usage", err)
	}
}
