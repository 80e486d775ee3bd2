package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	dbrouterv1 "github.com/altus4/altus/pkg/gen/altus/dbrouter/v1"
	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
	"github.com/altus4/altus/pkg/requestid"
	"github.com/altus4/altus/pkg/restjson"
)

func TestMarshalerWrapsDataInTheV1Envelope(t *testing.T) {
	ctx := requestid.With(context.Background(), "req-1")
	env, err := rewriteResponse(ctx, &dbrouterv1.TestDataSourceResponse{Connected: true, Message: "ok", LatencyMs: 3})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewMarshaler().Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Success bool           `json:"success"`
		Data    map[string]any `json:"data"`
		Meta    Meta           `json:"meta"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	want := map[string]any{"connected": true, "message": "ok", "latencyMs": float64(3), "serverVersion": ""}
	if !got.Success || got.Meta.RequestID != "req-1" || got.Meta.Version == "" || got.Meta.Timestamp == "" {
		t.Fatalf("envelope = %+v", got)
	}
	if diff := cmp.Diff(want, got.Data); diff != "" {
		t.Fatalf("data (-want +got):\n%s", diff)
	}
}

func TestMarshalerRendersListsAndMapsAsBareJSON(t *testing.T) {
	m := NewMarshaler()
	list, err := m.Marshal(&envelope{data: []*dbrouterv1.Connection{{Id: "a", Port: 3306}}})
	if err != nil {
		t.Fatal(err)
	}
	var gotList struct {
		Data []map[string]any `json:"data"`
	}
	if err := json.Unmarshal(list, &gotList); err != nil || len(gotList.Data) != 1 || gotList.Data[0]["id"] != "a" || gotList.Data[0]["port"] != float64(3306) {
		t.Fatalf("list = %s (%v)", list, err)
	}
	mp, err := m.Marshal(&envelope{data: map[string]bool{"a": true}})
	if err != nil {
		t.Fatal(err)
	}
	var gotMap struct {
		Data map[string]bool `json:"data"`
	}
	if err := json.Unmarshal(mp, &gotMap); err != nil || !gotMap.Data["a"] {
		t.Fatalf("map = %s (%v)", mp, err)
	}
}

func TestMarshalerPassesPreRenderedSearchPagesThrough(t *testing.T) {
	page := &searchv1.SearchResponse{TotalCount: 7, SearchMode: "natural", Results: []*searchv1.SearchResult{{Id: "s:t:1", Snippet: "a <b>"}}}
	full, err := restjson.Render(page)
	if err != nil {
		t.Fatal(err)
	}
	rendered, err := restjson.WithoutKeys(full, "cached", "executionTime", "searchId", "renderedJson")
	if err != nil {
		t.Fatal(err)
	}
	const searchID = "0f8fad5b-d9cb-469f-a165-70867728950e"
	fast, err := NewMarshaler().Marshal(&envelope{data: &searchv1.SearchResponse{RenderedJson: rendered, Cached: true, ExecutionTime: 3, SearchId: searchID}})
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(fast, []byte(`"searchId"`)); n != 1 {
		t.Fatalf("the fast path wrote searchId %d times:\n%s", n, fast)
	}
	page.Cached, page.ExecutionTime, page.SearchId = true, 3, searchID
	slow, err := NewMarshaler().Marshal(&envelope{data: page})
	if err != nil {
		t.Fatal(err)
	}
	var a, b struct {
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(fast, &a); err != nil {
		t.Fatalf("fast path is not JSON: %v\n%s", err, fast)
	}
	json.Unmarshal(slow, &b)
	if diff := cmp.Diff(b.Data, a.Data); diff != "" {
		t.Fatalf("pre-rendered page differs from the rendered one (-slow +fast):\n%s", diff)
	}
	if _, ok := a.Data["renderedJson"]; ok {
		t.Fatal("the internal renderedJson field reached the REST page")
	}
}
