package datasource

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCreateStoresTheAIEgressPolicyAndDescribeReturnsIt(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tests := []struct {
		name        string
		egress      string
		columns     []string
		wantEgress  string
		wantColumns []string
	}{
		{"default is fulltext", "", nil, EgressFullText, nil},
		{"none", "none", nil, EgressNone, nil},
		{"listed, case and duplicates normalised", " Listed ", []string{"articles.title", "post_tags.description", "articles.title"},
			EgressListed, []string{"articles.title", "post_tags.description"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := e.input(tt.name)
			in.AIEgress, in.AIColumns = tt.egress, tt.columns
			c, err := e.svc.Create(ctx, "user-a", in)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			want := []string{tt.wantEgress}
			want = append(want, tt.wantColumns...)
			if diff := cmp.Diff(want, append([]string{c.AIEgress}, c.AIColumns...)); diff != "" {
				t.Errorf("created (-want +got):\n%s", diff)
			}
			got, err := e.svc.Get(ctx, "user-a", c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, append([]string{got.AIEgress}, got.AIColumns...)); diff != "" {
				t.Errorf("read back (-want +got):\n%s", diff)
			}
			descs, err := e.svc.Describe(ctx, "user-a", []string{c.ID})
			if err != nil || len(descs) != 1 {
				t.Fatalf("Describe: %v, %d sources", err, len(descs))
			}
			if diff := cmp.Diff(want, append([]string{descs[0].AIEgress}, descs[0].AIColumns...)); diff != "" {
				t.Errorf("described (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreateRejectsAnInvalidAIEgressPolicyAndSavesNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		egress  string
		columns []string
		want    []string
	}{
		{"unknown policy", "everything", nil, []string{"aiEgress:INVALID"}},
		{"listed without columns", "listed", nil, []string{"aiColumns:REQUIRED"}},
		{"columns with fulltext", "fulltext", []string{"articles.title"}, []string{"aiColumns:INVALID"}},
		{"columns with the default policy", "", []string{"articles.title"}, []string{"aiColumns:INVALID"}},
		{"columns with none", "none", []string{"articles.title"}, []string{"aiColumns:INVALID"}},
		{"column not table.column", "listed", []string{"title"}, []string{"aiColumns:INVALID"}},
		{"unknown column", "listed", []string{"articles.title", "articles.secret"}, []string{"aiColumns:UNKNOWN"}},
		{"unknown table", "listed", []string{"nowhere.title"}, []string{"aiColumns:UNKNOWN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := e.input("bad egress")
			in.AIEgress, in.AIColumns = tt.egress, tt.columns
			_, err := e.svc.Create(ctx, "user-a", in)
			if diff := cmp.Diff(tt.want, violations(err)); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
	list, err := e.svc.List(ctx, "user-a")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Errorf("%d sources saved by rejected creations", len(list))
	}
}

func TestUpdateReplacesTheAIEgressPolicyUnderANewVersionAndBumps(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := &recordingBumper{}
	svc := e.withBumper(t, b, 0)
	in := e.input("policy")
	in.AIEgress, in.AIColumns = EgressListed, []string{"articles.title"}
	c, err := svc.Create(ctx, "user-a", in)
	if err != nil {
		t.Fatal(err)
	}
	b.bumped()

	steps := []struct {
		name        string
		in          UpdateInput
		wantEgress  string
		wantColumns []string
	}{
		{"another list", UpdateInput{AIEgress: ptr("listed"), AIColumns: []string{"articles.body", "articles.author"}},
			EgressListed, []string{"articles.body", "articles.author"}},
		{"a name change keeps the policy", UpdateInput{Name: ptr("renamed")}, EgressListed, []string{"articles.body", "articles.author"}},
		{"none drops the list", UpdateInput{AIEgress: ptr("none")}, EgressNone, nil},
		{"back to fulltext", UpdateInput{AIEgress: ptr("fulltext")}, EgressFullText, nil},
	}
	version := c.Version
	for _, st := range steps {
		got, err := svc.Update(ctx, "user-a", c.ID, st.in)
		if err != nil {
			t.Fatalf("%s: Update: %v", st.name, err)
		}
		if diff := cmp.Diff(append([]string{st.wantEgress}, st.wantColumns...), append([]string{got.AIEgress}, got.AIColumns...)); diff != "" {
			t.Errorf("%s: policy (-want +got):\n%s", st.name, diff)
		}
		if got.Version != version+1 {
			t.Errorf("%s: version %d, want %d", st.name, got.Version, version+1)
		}
		version = got.Version
		if diff := cmp.Diff([]string{"user-a"}, b.bumped()); diff != "" {
			t.Errorf("%s: bumps (-want +got):\n%s", st.name, diff)
		}
	}
}

func TestUpdateRejectsAnInvalidAIEgressPolicyAndKeepsTheOldOne(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	in := e.input("policy")
	in.AIEgress, in.AIColumns = EgressListed, []string{"articles.title"}
	c, err := e.svc.Create(ctx, "user-a", in)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   UpdateInput
		want []string
	}{
		{"columns without a policy", UpdateInput{AIColumns: []string{"articles.body"}}, []string{"aiColumns:INVALID"}},
		{"unknown policy", UpdateInput{AIEgress: ptr("some")}, []string{"aiEgress:INVALID"}},
		{"listed with an empty list", UpdateInput{AIEgress: ptr("listed")}, []string{"aiColumns:REQUIRED"}},
		{"unknown column", UpdateInput{AIEgress: ptr("listed"), AIColumns: []string{"ledger.memo", "ledger.note"}}, []string{"aiColumns:UNKNOWN"}},
		{"none with columns", UpdateInput{AIEgress: ptr("none"), AIColumns: []string{"ledger.memo"}}, []string{"aiColumns:INVALID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.Update(ctx, "user-a", c.ID, tt.in)
			if diff := cmp.Diff(tt.want, violations(err)); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
	got, err := e.svc.Get(ctx, "user-a", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("source after rejected updates (-want +got):\n%s", diff)
	}
}
