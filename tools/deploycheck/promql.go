package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"regexp"
	"sort"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

var promParser = parser.NewParser(parser.Options{})

// CheckRules parses an alerting/recording rule file with Prometheus' own
// rulefmt (unknown fields rejected, every expression and template parsed)
// and checks the metrics and labels every expression uses.
func CheckRules(file string, f *Facts, r *Report) {
	b, err := os.ReadFile(file)
	if err != nil {
		r.Addf("read", file, "%v", err)
		return
	}
	groups, errs := rulefmt.Parse(b, false, model.LegacyValidation, promParser, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, e := range errs {
		r.Addf("rulefmt", file, "%v", e)
	}
	if groups == nil {
		return
	}
	n := 0
	for _, g := range groups.Groups {
		for _, rule := range g.Rules {
			name := rule.Alert
			if name == "" {
				name = rule.Record
			}
			CheckExpr(rule.Expr, f, file+": "+g.Name+"/"+name, r)
			n++
		}
	}
	r.Notef("prometheus %s: %d rules parsed and checked", file, n)
}

// grafanaVar matches Grafana's template variables ($x, ${x}, [[x]]).
var grafanaVar = regexp.MustCompile(`\$__\w+|\$\{\w+(?::\w+)?\}|\$\w+|\[\[\w+\]\]`)

// CheckDashboard parses a Grafana dashboard and checks every PromQL
// expression in it (template variables replaced by plausible values).
func CheckDashboard(file string, f *Facts, r *Report) {
	b, err := os.ReadFile(file)
	if err != nil {
		r.Addf("read", file, "%v", err)
		return
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		r.Addf("json", file, "%v", err)
		return
	}
	top, _ := doc.(map[string]any)
	if _, ok := top["panels"].([]any); !ok || top["title"] == nil {
		r.Addf("dashboard", file, "not a dashboard: it needs a title and panels")
		return
	}
	n := 0
	var walk func(v any, where string)
	walk = func(v any, where string) {
		switch t := v.(type) {
		case map[string]any:
			if title, ok := t["title"].(string); ok {
				where = file + ": " + title
			}
			if e, ok := t["expr"].(string); ok {
				expr := grafanaVar.ReplaceAllStringFunc(e, func(s string) string {
					if len(s) > 3 && s[:3] == "$__" {
						return "5m"
					}
					return "x"
				})
				CheckExpr(expr, f, where, r)
				n++
			}
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(t[k], where)
			}
		case []any:
			for _, x := range t {
				walk(x, where)
			}
		}
	}
	walk(doc, file)
	if n == 0 {
		r.Addf("dashboard", file, "no PromQL expression found")
	}
	r.Notef("grafana %s: %d expressions parsed and checked", file, n)
}

// CheckExpr parses a PromQL expression and checks that every metric it
// selects is exported by the suite, that every label matcher names a label
// of that metric (or one the scrape adds), and that every aggregation
// groups by labels the selected metrics have.
func CheckExpr(expr string, f *Facts, where string, r *Report) {
	e, err := promParser.ParseExpr(expr)
	if err != nil {
		r.Addf("promql", where, "%v", err)
		return
	}
	labelsOf := func(vs *parser.VectorSelector) (map[string]bool, bool) {
		name := vs.Name
		if name == "" {
			for _, m := range vs.LabelMatchers {
				if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
					name = m.Value
				}
			}
		}
		m, bucket := f.LookupMetric(name)
		if m == nil {
			r.Addf("metric-unknown", where, "metric %q is not exported by the suite", name)
			return nil, false
		}
		out := map[string]bool{}
		for l := range m.Labels {
			out[l] = true
		}
		for l := range targetLabels {
			out[l] = true
		}
		if bucket {
			out["le"] = true
		}
		if m.Summary {
			out["quantile"] = true
		}
		return out, true
	}
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			ls, ok := labelsOf(n)
			if !ok {
				return nil
			}
			for _, m := range n.LabelMatchers {
				if m.Name != labels.MetricName && !ls[m.Name] {
					r.Addf("label-unknown", where, "%s has no label %q", n.Name, m.Name)
				}
			}
		case *parser.AggregateExpr:
			if n.Without || len(n.Grouping) == 0 {
				return nil
			}
			avail := map[string]bool{}
			parser.Inspect(n.Expr, func(inner parser.Node, _ []parser.Node) error {
				if vs, ok := inner.(*parser.VectorSelector); ok {
					if m, bucket := f.LookupMetric(vs.Name); m != nil {
						for l := range m.Labels {
							avail[l] = true
						}
						if bucket {
							avail["le"] = true
						}
					}
				}
				return nil
			})
			for l := range targetLabels {
				avail[l] = true
			}
			for _, g := range n.Grouping {
				if !avail[g] {
					r.Addf("label-unknown", where, "grouping by %q, which no selected metric has", g)
				}
			}
		}
		return nil
	})
}
