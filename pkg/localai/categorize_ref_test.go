package localai

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
)

// categorizeByMaps is Categorize as plainly as it can be written,
// with a map for every statistic: the definition Categorize must
// keep.
func categorizeByMaps(r CategorizeRequest) []DocumentCategories {
	n := len(r.Documents)
	tables := map[string]bool{}
	for _, d := range r.Documents {
		tables[d.Table] = true
	}
	queryStems := map[string]bool{}
	for _, w := range ContentWords(r.Query) {
		queryStems[Stem(w)] = true
	}
	tf := make([]map[string]int, n)
	df := map[string]int{}
	surface := map[string]map[string]int{}
	for i, d := range r.Documents {
		tf[i] = map[string]int{}
		for _, f := range d.Fields {
			if isCategoryColumn(f.Name) {
				continue
			}
			for _, w := range ContentWords(f.Text) {
				if len([]rune(w)) < 3 || !HasLetter(w) {
					continue
				}
				st := Stem(w)
				if queryStems[st] {
					continue
				}
				if tf[i][st] == 0 {
					df[st]++
				}
				tf[i][st]++
				if surface[st] == nil {
					surface[st] = map[string]int{}
				}
				surface[st][w]++
			}
		}
	}
	minDF := 2
	if n == 1 {
		minDF = 1
	}
	weight := func(i int, st string) float64 {
		return (1 + math.Log(float64(tf[i][st]))) * math.Log(1+float64(n)/float64(df[st]))
	}
	var maxW float64
	for i := range tf {
		for st := range tf[i] {
			if df[st] >= minDF && (n < 3 || df[st] < n) {
				maxW = max(maxW, weight(i, st))
			}
		}
	}
	out := make([]DocumentCategories, n)
	for i, d := range r.Documents {
		var cats []Category
		for _, f := range d.Fields {
			if isCategoryColumn(f.Name) {
				for _, v := range strings.Split(f.Text, ",") {
					if v = strings.ToLower(strings.TrimSpace(v)); v != "" && len([]rune(v)) <= 64 {
						cats = append(cats, Category{Name: v, Confidence: 0.95})
					}
				}
			}
		}
		if d.Table != "" {
			c := 0.5
			if len(tables) > 1 {
				c = 0.9
			}
			cats = append(cats, Category{Name: strings.ToLower(d.Table), Confidence: c})
		}
		for st := range tf[i] {
			if df[st] < minDF || (n >= 3 && df[st] == n) || maxW == 0 {
				continue
			}
			conf := 0.8 * float64(df[st]) / float64(n) * weight(i, st) / maxW
			cats = append(cats, Category{Name: mostFrequent(surface[st]), Confidence: round3(conf)})
		}
		out[i] = DocumentCategories{ID: d.ID, Categories: topCategoriesByMap(cats, r.MaxCategories)}
	}
	return out
}

// topCategoriesByMap is topCategories with a map of the best confidence
// of each name.
func topCategoriesByMap(cats []Category, n int) []Category {
	best := map[string]float64{}
	for _, c := range cats {
		if v, ok := best[c.Name]; !ok || c.Confidence > v {
			best[c.Name] = c.Confidence
		}
	}
	out := make([]Category, 0, len(best))
	for name, c := range best {
		out = append(out, Category{Name: name, Confidence: c})
	}
	slices.SortFunc(out, func(a, b Category) int {
		return cmp.Or(cmp.Compare(b.Confidence, a.Confidence), strings.Compare(a.Name, b.Name))
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

func mostFrequent(m map[string]int) string {
	best, n := "", -1
	for w, c := range m {
		if c > n || (c == n && w < best) {
			best, n = w, c
		}
	}
	return best
}

// randomRequest is a request of random documents over a small vocabulary
// where words share stems, differ in case, repeat and tie.
func randomRequest(rng *rand.Rand) CategorizeRequest {
	vocab := strings.Fields("connect connection connections Connected connecting CONNECTION cluster clusters Clustered " +
		"redis Redis REDIS mysql MySQL driver drivers client clients the and of a to is it 42 v1.2 x86_64 ab " +
		"full-text Full-Text o'neil's naïve Naïve café CAFÉ straße 日本語 search searching searches index indexes")
	seps := []string{" ", " ", " ", ", ", ". ", " - ", "! ", "\n", "' "}
	text := func(words int) string {
		var b strings.Builder
		for range words {
			b.WriteString(vocab[rng.IntN(len(vocab))])
			b.WriteString(seps[rng.IntN(len(seps))])
		}
		return b.String()
	}
	names := []string{"name", "summary", "description", "Tags", "genre", "body"}
	tables := []string{"", "packages", "Packages", "projects"}
	docs := make([]Document, 1+rng.IntN(25))
	for i := range docs {
		d := Document{ID: fmt.Sprint(i), Table: tables[rng.IntN(len(tables))]}
		for range rng.IntN(4) {
			d.Fields = append(d.Fields, Field{Name: names[rng.IntN(len(names))], Text: text(rng.IntN(40))})
		}
		docs[i] = d
	}
	return CategorizeRequest{Documents: docs, Query: text(rng.IntN(3)), MaxCategories: 1 + rng.IntN(10)}
}

func TestCategorizeAnswersAsTheMapsDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		r := randomRequest(rng)
		if diff := gocmp.Diff(categorizeByMaps(r), Categorize(r)); diff != "" {
			t.Fatalf("request %d %+v (-definition +got):\n%s", i, r, diff)
		}
	}
}

func FuzzCategorizeAnswersAsTheMapsDefinition(f *testing.F) {
	f.Add("redis", "Redis client\tcluster support\nMySQL driver\tcluster support", uint8(3))
	f.Add("", "a\tb\tc\nfull-text FULL-TEXT\nnaïve Naïve café", uint8(1))
	f.Fuzz(func(t *testing.T, query, text string, maxCategories uint8) {
		names := []string{"name", "summary", "Tags", "description"}
		var docs []Document
		for i, line := range strings.Split(text, "\n") {
			d := Document{ID: fmt.Sprint(i), Table: []string{"", "packages", "Projects"}[i%3]}
			for j, ft := range strings.Split(line, "\t") {
				d.Fields = append(d.Fields, Field{Name: names[j%len(names)], Text: ft})
			}
			docs = append(docs, d)
		}
		r := CategorizeRequest{Documents: docs, Query: query, MaxCategories: 1 + int(maxCategories%10)}
		if diff := gocmp.Diff(categorizeByMaps(r), Categorize(r)); diff != "" {
			t.Errorf("%+v (-definition +got):\n%s", r, diff)
		}
	})
}

// TestCategorizeConcurrentlyAnswersAsAlone runs requests at once, as a
// service's calls are: the indexes kept for reuse are never shared.
func TestCategorizeConcurrentlyAnswersAsAlone(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	reqs := make([]CategorizeRequest, 64)
	want := make([][]DocumentCategories, len(reqs))
	for i := range reqs {
		reqs[i] = randomRequest(rng)
		want[i] = categorizeByMaps(reqs[i])
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for k := range reqs {
				i := (k + w*8) % len(reqs)
				if diff := gocmp.Diff(want[i], Categorize(reqs[i])); diff != "" {
					t.Errorf("request %d (-alone +concurrently):\n%s", i, diff)
				}
			}
		})
	}
	wg.Wait()
}
