package corpus

import "testing"

func TestSampleIsAFewThousandDistinctPackagesWithDescriptions(t *testing.T) {
	pkgs := Sample()
	if len(pkgs) < 3000 {
		t.Fatalf("%d packages in the sample, want a few thousand", len(pkgs))
	}
	seen := map[string]bool{}
	for _, p := range pkgs {
		if p.Name == "" || p.Description == "" || seen[p.Name] {
			t.Fatalf("bad or repeated package %+v", p)
		}
		seen[p.Name] = true
	}
}
