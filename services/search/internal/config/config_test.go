package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/altus4/altus/services/search/internal/config"
)

func TestDefaults(t *testing.T) {
	c := config.Default()
	if c.GRPCPort != 50051 || c.MaxWindow != 1000 || c.RankWindow != 200 || c.CountScanRows != 0 || c.EagerSearches != 4 || c.CacheTTL != 60*time.Second || c.CacheTimeout != 100*time.Millisecond ||
		c.SourceTimeout != 5*time.Second || c.SuggestTimeout != 300*time.Millisecond || c.DidYouMeanTimeout != 100*time.Millisecond ||
		c.EventQueue != 10000 || c.EventFlushInterval != time.Second || !c.Migrate {
		t.Errorf("defaults: %+v", c)
	}
	if config.DefaultAdminPort != 9091 {
		t.Errorf("admin port %d", config.DefaultAdminPort)
	}
}

func TestLoadReportsEveryProblemByVariable(t *testing.T) {
	_, err := config.Load([]string{
		"ALTUS_ENV=test", "JWT_SECRET=" + strings.Repeat("s", 32),
		"ALTUS_SEARCH_MAX_WINDOW=5000", "ALTUS_SEARCH_CACHE_TTL=0s", "ALTUS_SOURCE_TIMEOUT=1ms",
		"ALTUS_SEARCH_EVENT_QUEUE=0", "ALTUS_SEARCH_CACHE_TIMEOUT=1h", "ALTUS_SEARCH_RANK_WINDOW=50", "ALTUS_SEARCH_COUNT_SCAN_ROWS=-1", "ALTUS_SEARCH_EAGER_SEARCHES=-2",
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, v := range []string{"ALTUS_SEARCH_MAX_WINDOW", "ALTUS_SEARCH_CACHE_TTL", "ALTUS_SOURCE_TIMEOUT", "ALTUS_SEARCH_EVENT_QUEUE", "ALTUS_SEARCH_CACHE_TIMEOUT", "ALTUS_SEARCH_RANK_WINDOW", "ALTUS_SEARCH_COUNT_SCAN_ROWS", "ALTUS_SEARCH_EAGER_SEARCHES"} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("the error does not name %s: %v", v, err)
		}
	}
	if _, err := config.Load([]string{"ALTUS_ENV=test", "JWT_SECRET=" + strings.Repeat("s", 32)}); err != nil {
		t.Errorf("valid configuration refused: %v", err)
	}
	if _, err := config.Load([]string{"ALTUS_ENV=production"}); err == nil || !strings.Contains(err.Error(), "JWT_SECRET") {
		t.Errorf("missing JWT_SECRET outside development: %v", err)
	}
}
