package restjson

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/structpb"

	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
)

func TestWithoutKeysDropsOnlyTopLevelMembers(t *testing.T) {
	data, _ := structpb.NewStruct(map[string]any{"cached": "a column named cached", "executionTime": 9, "text": `quote " brace } bracket ]`})
	resp := &searchv1.SearchResponse{
		Results:       []*searchv1.SearchResult{{Id: "s:t:1", Data: data, Snippet: `he said "hi", {ok}`}},
		TotalCount:    1,
		ExecutionTime: 42,
		Cached:        true,
	}
	full, err := Render(resp)
	if err != nil {
		t.Fatal(err)
	}
	trimmed, err := WithoutKeys(full, "cached", "executionTime")
	if err != nil {
		t.Fatalf("WithoutKeys: %v\n%s", err, full)
	}
	var got map[string]any
	if err := json.Unmarshal(trimmed, &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, trimmed)
	}
	var want map[string]any
	json.Unmarshal(full, &want)
	delete(want, "cached")
	delete(want, "executionTime")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	restored := Prepend(trimmed, `"cached":true,"executionTime":42`)
	var back map[string]any
	if err := json.Unmarshal(restored, &back); err != nil {
		t.Fatalf("Prepend gave invalid JSON: %v\n%s", err, restored)
	}
	var original map[string]any
	json.Unmarshal(full, &original)
	if diff := cmp.Diff(original, back); diff != "" {
		t.Fatalf("prepended object differs (-want +got):\n%s", diff)
	}
}

func TestPrependToAnEmptyObject(t *testing.T) {
	if got := string(Prepend([]byte("{}"), `"a":1`)); got != `{"a":1}` {
		t.Fatalf("got %s", got)
	}
}

func TestRenderIsStable(t *testing.T) {
	resp := &searchv1.SearchResponse{TotalCount: 3, SearchMode: "natural"}
	a, _ := Render(resp)
	b, _ := Render(resp)
	if string(a) != string(b) || json.Valid(a) == false {
		t.Fatalf("unstable or invalid: %s / %s", a, b)
	}
}
