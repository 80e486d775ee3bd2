package rest

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/altus4/altus/gateway/internal/openapi"
)

var camelParam = regexp.MustCompile(`\{([a-z]+)([A-Z][a-z]*)*\}`)

func snakeParam(path string) string {
	return camelParam.ReplaceAllStringFunc(path, func(s string) string {
		var b strings.Builder
		for _, r := range s {
			if r >= 'A' && r <= 'Z' {
				b.WriteByte('_')
				r += 'a' - 'A'
			}
			b.WriteRune(r)
		}
		return b.String()
	})
}

// Every route of the generated REST mapping has exactly one policy and every
// policy names a real route, so no route is served unauthenticated by omission.
func TestPoliciesCoverExactlyTheGeneratedRoutes(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapi.Document, &doc); err != nil {
		t.Fatalf("openapi document: %v", err)
	}
	var generated []string
	for path, methods := range doc.Paths {
		for m := range methods {
			generated = append(generated, strings.ToUpper(m)+" "+snakeParam(path))
		}
	}
	var policies []string
	for k := range Policies {
		policies = append(policies, k)
	}
	sort.Strings(generated)
	sort.Strings(policies)
	if diff := cmp.Diff(generated, policies); diff != "" {
		t.Fatalf("routes (-generated +policies):\n%s", diff)
	}
}

func TestTemplateDropsCaptureGlobs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/api/v1/keys/{key_id=*}", "/api/v1/keys/{key_id}"},
		{"/api/v1/keys/{key_id=*}/usage", "/api/v1/keys/{key_id}/usage"},
		{"/api/v1/databases", "/api/v1/databases"},
	}
	for _, tt := range tests {
		if got := Template(tt.in); got != tt.want {
			t.Errorf("Template(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Only the search routes accept API keys, and each names the permission it needs.
func TestSearchRoutesRequireAPIKeyPermissions(t *testing.T) {
	for route, p := range Policies {
		isSearch := strings.Contains(route, " /api/v1/search")
		if isSearch != (p.Auth == AuthAPIKey) {
			t.Errorf("%s: auth %v; API keys must be exactly the search routes", route, p.Auth)
		}
		if p.Auth == AuthAPIKey && p.Permission == "" {
			t.Errorf("%s: an API-key route must name a permission", route)
		}
	}
}
