package restjson_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
	"github.com/altus4/altus/pkg/restjson"
)

func TestInt64sAsNumbersRendersNested64BitIntegersAsJSONNumbersAndLeavesTheRest(t *testing.T) {
	m := &searchv1.GetPerformanceResponse{
		TimeSeriesData:         []*searchv1.PerformancePoint{{Date: "2026-03-01", TotalQueries: 12, AvgResponseTime: 1.5}},
		SearchModeDistribution: []*searchv1.ModeShare{{SearchMode: "123", Count: 9007199254740993}},
		Summary:                &searchv1.PerformanceSummary{TotalQueries: 3, ZeroResultQueries: 0},
	}
	b, err := restjson.Render(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := restjson.Int64sAsNumbers(m, b)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"searchModeDistribution":[{"avgTime":0,"count":9007199254740993,"searchMode":"123"}],` +
		`"summary":{"averageResponseTime":0,"averageResults":0,"cacheHitRatio":0,"p95ResponseTime":0,"totalQueries":3,"zeroResultQueries":0},` +
		`"timeSeriesData":[{"avgResponseTime":1.5,"avgResults":0,"date":"2026-03-01","maxResponseTime":0,"minResponseTime":0,"totalQueries":12}]}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !json.Valid(got) {
		t.Error("not JSON")
	}
}

func TestInt64sAsNumbersLeavesMessagesWithout64BitIntegersUntouched(t *testing.T) {
	m := &searchv1.SearchEvent{Id: "1", Query: "<b>", CreatedAt: timestamppb.Now()}
	b, err := restjson.Render(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := restjson.Int64sAsNumbers(m, b)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(b) {
		t.Errorf("changed:\n%s\n%s", b, got)
	}
}

func TestInt64sAsNumbersOfRewritesEveryMessageOfAList(t *testing.T) {
	got, err := restjson.Int64sAsNumbersOf((&searchv1.PopularQuery{}).ProtoReflect().Descriptor(),
		[]byte(`[{"query":"a","frequency":"2"},{"query":"7","frequency":"0"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"frequency":2,"query":"a"},{"frequency":0,"query":"7"}]`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
