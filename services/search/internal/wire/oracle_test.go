package wire

import (
	searchv1 "github.com/altus4/altus/pkg/gen/altus/search/v1"
	"github.com/altus4/altus/pkg/restjson"
	"github.com/altus4/altus/services/search/internal/search"
)

// The typed rendering Codec.Render and RenderedWithTrends must equal byte
// for byte: the page converted to a SearchResponse (ResponseToProto) and
// rendered by protojson as the REST API renders any message
// (restjson.Render), its per-request members then dropped.

// OmittedKeys are the members of a typed rendering a rendered page leaves
// out: the three that change with every answer (the edge adds them in
// front), and renderedJson, which is no part of the REST shape.
var OmittedKeys = []string{"cached", "executionTime", "searchId", "renderedJson"}

// RenderViaProto is Codec.Render by way of the typed rendering.
func RenderViaProto(r *search.Response) ([]byte, error) {
	page := *r
	page.Trends = nil
	full, err := restjson.Render(ResponseToProto(&page))
	if err != nil {
		return nil, err
	}
	return restjson.WithoutKeys(full, OmittedKeys...)
}

// RenderedWithTrendsViaProto is RenderedWithTrends by way of the typed
// rendering of the trends.
func RenderedWithTrendsViaProto(rendered []byte, trends []search.Trend) ([]byte, error) {
	m := &searchv1.GetTrendsResponse{Trends: make([]*searchv1.TrendInsight, len(trends))}
	for i, t := range trends {
		m.Trends[i] = TrendToProto(t)
	}
	obj, err := restjson.Render(m) // {"trends":[…]}
	if err != nil {
		return nil, err
	}
	rest, err := restjson.WithoutKeys(rendered, "trends")
	if err != nil {
		return nil, err
	}
	return restjson.Prepend(rest, string(obj[1:len(obj)-1])), nil
}
