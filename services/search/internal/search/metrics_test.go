package search

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

func TestMetricsCountSearchesCacheLookupsAndSources(t *testing.T) {
	reg := prometheus.NewRegistry()
	ok := newFakeSource("s1", 3, nil, nil)
	down := newFakeSource("s2", 3, nil, nil)
	down.err = &SourceError{Code: "DATABASE_CONNECTION_FAILED", Message: "refused"}
	cache := newFakeCache()
	s := newService(&fakeSources{sources: []*fakeSource{ok, down}}, func(o *Options) {
		o.Metrics = NewMetrics(reg)
		o.Cache = cache
		o.Codec = gobCodec{}
	})
	search(t, s, Request{Query: "pools"})                            // miss, partial (not cached)
	search(t, s, Request{Query: "pools", Databases: []string{"s1"}}) // miss, cached
	s.Wait()
	search(t, s, Request{Query: "pools", Databases: []string{"s1"}}) // hit
	cache.err = errTest
	search(t, s, Request{Query: "pools", Databases: []string{"s1"}}) // cache error

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "," + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case m.GetCounter() != nil:
				got[name] = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				got[name] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	want := map[string]float64{
		MetricSearchDuration + ",database_count=1,search_mode=natural": 3,
		MetricSearchDuration + ",database_count=2,search_mode=natural": 1,
		MetricCacheRequests + ",result=hit":                            1,
		MetricCacheRequests + ",result=miss":                           2,
		MetricCacheRequests + ",result=error":                          1,
		MetricSourceResults + ",status=ok":                             3,
		MetricSourceResults + ",status=failed":                         1,
		MetricSourceResults + ",status=timeout":                        0,
		MetricSourceResults + ",status=skipped":                        0,
		MetricCoalesced:                                                0,
		MetricEarlyStarts + ",result=current":                          0,
		MetricEarlyStarts + ",result=stale":                            0,
		MetricExpansionFalls:                                           0,
		MetricPageReads + ",read=with_ranking":                         3,
		MetricPageReads + ",read=after":                                0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
