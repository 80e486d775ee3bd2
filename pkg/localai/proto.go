package localai

import (
	enhancev1 "github.com/altus4/altus/pkg/gen/altus/enhance/v1"
)

// DocumentsFromProto converts the documents of a request of the enhance
// service.
func DocumentsFromProto(in []*enhancev1.Document) []Document {
	out := make([]Document, len(in))
	for i, d := range in {
		fs := make([]Field, len(d.GetFields()))
		for j, f := range d.GetFields() {
			fs[j] = Field{Name: f.GetName(), Text: f.GetText()}
		}
		out[i] = Document{ID: d.GetId(), Database: d.GetDatabase(), Table: d.GetTable(), Fields: fs}
	}
	return out
}

// CategorizeRequestFromProto converts a Categorize request: the one
// reading of it, by the enhance service and by Client alike.
func CategorizeRequestFromProto(req *enhancev1.CategorizeRequest) CategorizeRequest {
	return CategorizeRequest{Documents: DocumentsFromProto(req.GetDocuments()), Query: req.GetQuery(), MaxCategories: int(req.GetMaxCategories())}
}

// CategorizeResponseProto is the Categorize response of documents'
// categories and their totals: the one writing of it, by the enhance
// service and by Client alike.
func CategorizeResponseProto(docs []DocumentCategories, cats []CategoryCount, origin *enhancev1.Origin) *enhancev1.CategorizeResponse {
	resp := &enhancev1.CategorizeResponse{Origin: origin}
	for _, d := range docs {
		dc := &enhancev1.DocumentCategories{Id: d.ID}
		for _, c := range d.Categories {
			dc.Categories = append(dc.Categories, &enhancev1.Category{Name: c.Name, Confidence: c.Confidence})
		}
		resp.Documents = append(resp.Documents, dc)
	}
	for _, c := range cats {
		resp.Categories = append(resp.Categories, &enhancev1.CategoryCount{Name: c.Name, Count: int32(c.Count), Confidence: c.Confidence})
	}
	return resp
}
