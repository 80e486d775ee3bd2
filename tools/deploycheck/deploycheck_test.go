package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const root = "../.."

var (
	factsOnce sync.Once
	facts     *Facts
	factsErr  error
)

func loadFacts(t *testing.T) *Facts {
	t.Helper()
	factsOnce.Do(func() { facts, factsErr = LoadFacts(root) })
	if factsErr != nil {
		t.Fatal(factsErr)
	}
	return facts
}

func TestRepositoryDeployFilesPassEveryCheck(t *testing.T) {
	r, err := CheckAll(root, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) > 0 {
		t.Fatalf("deploy/ has problems:\n%s", r.String())
	}
}

func TestFactsAreReadFromTheServicesSource(t *testing.T) {
	f := loadFacts(t)
	type summary struct {
		Package              string
		ServePort, AdminPort int
		Migrates, GRPC       bool
		ReadsDB, ReadsRedis  bool
		ReadsEncryptionKey   bool
	}
	got := map[string]summary{}
	for name, s := range f.Services {
		got[name] = summary{s.Package, s.ServePort, s.AdminPort, s.Migrates, s.GRPC, s.Env["DB_HOST"], s.Env["REDIS_HOST"], s.Env["ENCRYPTION_KEY"]}
	}
	want := map[string]summary{
		"gateway":  {"./gateway", 3000, 9090, false, false, false, false, true},
		"search":   {"./services/search", 50051, 9091, true, true, true, false, true},
		"cache":    {"./services/cache", 50052, 9092, false, true, false, true, true},
		"enhance":  {"./services/enhance", 50053, 9093, false, true, false, false, true},
		"dbrouter": {"./services/dbrouter", 50054, 9094, true, true, true, false, true},
		"account":  {"./services/account", 50055, 9095, true, true, true, false, true},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("services (-want +got):\n%s", d)
	}
	metric := func(name string) *Metric {
		m := f.Metrics[name]
		if m == nil {
			t.Fatalf("metric %s not found", name)
		}
		return m
	}
	if m := metric("altus4_request_duration_seconds"); !m.Histogram || !m.Labels["status_code"] || !m.Labels["route"] {
		t.Errorf("altus4_request_duration_seconds = %+v, want a histogram with route and status_code", m)
	}
	// Registered through a constant and prometheus.NewDesc.
	if m := metric("altus4_database_connections_active"); !m.Labels["database_id"] {
		t.Errorf("altus4_database_connections_active labels = %v, want database_id", m.Labels)
	}
	// Registered twice with ConstLabels.
	if m := metric("altus4_cache_hit_ratio"); !m.Labels["cache_type"] {
		t.Errorf("altus4_cache_hit_ratio labels = %v, want cache_type", m.Labels)
	}
	if _, ok := f.Metrics["altus4_sk_test_"]; ok {
		t.Error("an API-key prefix was taken for a metric name")
	}
}

// renderProduction renders the production overlay once.
var (
	prodOnce sync.Once
	prodYAML []byte
	prodErr  error
)

func production(t *testing.T) *Objects {
	t.Helper()
	prodOnce.Do(func() { prodYAML, prodErr = Render(filepath.Join(root, "deploy/k8s/overlays/production")) })
	if prodErr != nil {
		t.Fatal(prodErr)
	}
	r := &Report{}
	o := Decode(prodYAML, "production", r)
	if len(r.Problems) > 0 {
		t.Fatalf("decode: %s", r.String())
	}
	return o
}

func deployment(t *testing.T, o *Objects, name string) *corev1.PodSpec {
	t.Helper()
	for _, d := range o.Deployments {
		if d.Name == name {
			return &d.Spec.Template.Spec
		}
	}
	t.Fatalf("no Deployment %s", name)
	return nil
}

var exampleSecrets = map[string]map[string]bool{"altus-secrets": {"JWT_SECRET": true, "ENCRYPTION_KEY": true, "DB_PASSWORD": true, "REDIS_PASSWORD": true}}

func TestCheckObjectsReportsEachBrokenInvariant(t *testing.T) {
	f := loadFacts(t)
	tests := []struct {
		name   string
		mutate func(t *testing.T, o *Objects)
		want   []string
	}{
		{"unchanged production passes", func(*testing.T, *Objects) {}, nil},
		{"missing readiness probe", func(t *testing.T, o *Objects) {
			deployment(t, o, "search").Containers[0].ReadinessProbe = nil
		}, []string{"probes"}},
		{"grpc liveness probe on the metrics port", func(t *testing.T, o *Objects) {
			deployment(t, o, "cache").Containers[0].LivenessProbe.GRPC.Port = 9092
		}, []string{"probe-grpc"}},
		{"gateway readiness not on /health", func(t *testing.T, o *Objects) {
			deployment(t, o, "gateway").Containers[0].ReadinessProbe.HTTPGet.Path = "/metrics"
		}, []string{"probe-health"}},
		{"no limits", func(t *testing.T, o *Objects) {
			deployment(t, o, "enhance").Containers[0].Resources.Limits = nil
		}, []string{"resources"}},
		{"no PodDisruptionBudget", func(t *testing.T, o *Objects) {
			o.PDBs = o.PDBs[1:]
		}, []string{"pdb"}},
		{"no HorizontalPodAutoscaler", func(t *testing.T, o *Objects) {
			o.HPAs = o.HPAs[1:]
		}, []string{"hpa"}},
		{"HPA off the guide's CPU target", func(t *testing.T, o *Objects) {
			v := int32(90)
			o.HPAs[0].Spec.Metrics[0].Resource.Target.AverageUtilization = &v
		}, []string{"hpa-targets"}},
		{"Service target port that no container has", func(t *testing.T, o *Objects) {
			for _, s := range o.Services {
				if s.Name == "gateway" {
					s.Spec.Ports[0].TargetPort = intstr.FromString("web")
				}
			}
		}, []string{"service-port"}},
		{"gRPC Service with a cluster IP", func(t *testing.T, o *Objects) {
			for _, s := range o.Services {
				if s.Name == "dbrouter" {
					s.Spec.ClusterIP = ""
				}
			}
		}, []string{"address", "headless"}},
		{"misspelt setting", func(t *testing.T, o *Objects) {
			o.ConfigMaps["altus-search"].Data["ALTUS_SERACH_CACHE_TTL"] = "5m"
		}, []string{"env-unknown"}},
		{"setting a service does not read", func(t *testing.T, o *Objects) {
			o.ConfigMaps["altus-gateway"].Data["DB_HOST"] = "mariadb"
		}, []string{"env-unknown"}},
		{"secret key that does not exist", func(t *testing.T, o *Objects) {
			deployment(t, o, "account").Containers[0].Env[0].ValueFrom.SecretKeyRef.Key = "JWT_SECRT"
		}, []string{"env-ref"}},
		{"ConfigMap that does not exist", func(t *testing.T, o *Objects) {
			delete(o.ConfigMaps, "altus-redis")
		}, []string{"env-ref"}},
		{"latest image", func(t *testing.T, o *Objects) {
			deployment(t, o, "search").Containers[0].Image = "altus4/search:latest"
		}, []string{"image-latest", "migrate"}},
		{"untagged image in production", func(t *testing.T, o *Objects) {
			deployment(t, o, "enhance").Containers[0].Image = "altus4/enhance"
		}, []string{"image-tag"}},
		{"example Secret in production", func(t *testing.T, o *Objects) {
			o.Secrets["altus-secrets"] = &corev1.Secret{}
			o.Secrets["altus-secrets"].Name = "altus-secrets"
			o.Secrets["altus-secrets"].Annotations = map[string]string{exampleAnnotation: "true"}
			o.Secrets["altus-secrets"].StringData = map[string]string{"JWT_SECRET": "x", "ENCRYPTION_KEY": "x", "DB_PASSWORD": "x", "REDIS_PASSWORD": ""}
		}, []string{"example-secret"}},
		{"migrations turned off with no init container", func(t *testing.T, o *Objects) {
			deployment(t, o, "dbrouter").InitContainers = nil
		}, []string{"migrate"}},
		{"migrate init container on a service without tables", func(t *testing.T, o *Objects) {
			p := deployment(t, o, "enhance")
			init := *p.Containers[0].DeepCopy()
			init.Name, init.Args = "migrate", []string{"migrate"}
			p.InitContainers = []corev1.Container{init}
		}, []string{"migrate"}},
		{"grace period shorter than the drain", func(t *testing.T, o *Objects) {
			g := int64(10)
			deployment(t, o, "cache").TerminationGracePeriodSeconds = &g
		}, []string{"grace"}},
		{"admin port setting off the container port", func(t *testing.T, o *Objects) {
			o.ConfigMaps["altus-enhance"].Data["ALTUS_ADMIN_PORT"] = "9999"
		}, []string{"port-env"}},
		{"root user", func(t *testing.T, o *Objects) {
			no := false
			deployment(t, o, "account").SecurityContext.RunAsNonRoot = &no
		}, []string{"security"}},
		{"writable root file system", func(t *testing.T, o *Objects) {
			no := false
			deployment(t, o, "account").Containers[0].SecurityContext.ReadOnlyRootFilesystem = &no
		}, []string{"security"}},
		{"address without the dns resolver", func(t *testing.T, o *Objects) {
			o.ConfigMaps["altus-addresses"].Data["ALTUS_SEARCH_ADDR"] = "search:50051"
		}, []string{"address"}},
		{"address on the wrong port", func(t *testing.T, o *Objects) {
			o.ConfigMaps["altus-addresses"].Data["ALTUS_CACHE_ADDR"] = "dns:///cache:50051"
		}, []string{"address"}},
		{"no scrape annotations", func(t *testing.T, o *Objects) {
			o.Deployments[0].Spec.Template.Annotations = nil
		}, []string{"scrape"}},
		{"service missing", func(t *testing.T, o *Objects) {
			o.Deployments = o.Deployments[1:]
		}, []string{"hpa-target", "missing-deployment", "service-selector", "vpa-target"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := production(t)
			tt.mutate(t, o)
			r := &Report{}
			CheckObjects(o, f, CheckOptions{Production: true, ExternalSecrets: exampleSecrets}, "production", r)
			if d := cmp.Diff(tt.want, r.Codes()); d != "" {
				t.Errorf("codes (-want +got):\n%s\n%s", d, r.String())
			}
		})
	}
}

func TestDecodeRejectsUnknownFieldsAndKinds(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"known kind", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {A: b}\n", nil},
		{"misspelt field", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  template:\n    spec:\n      containers:\n        - name: a\n          imagePullPolcy: Always\n", []string{"decode"}},
		{"VPA field outside the schema", "apiVersion: autoscaling.k8s.io/v1\nkind: VerticalPodAutoscaler\nmetadata: {name: a}\nspec:\n  targetRef: {kind: Deployment, name: a}\n  updatePolicy: {updateMode: Auto, evict: true}\n", []string{"decode"}},
		{"unknown kind", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: a}\n", []string{"unknown-kind"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{}
			Decode([]byte(tt.doc), "test", r)
			if d := cmp.Diff(tt.want, r.Codes()); d != "" {
				t.Errorf("codes (-want +got):\n%s\n%s", d, r.String())
			}
		})
	}
}

func TestCheckExprChecksMetricsAndLabels(t *testing.T) {
	f := loadFacts(t)
	tests := []struct {
		name, expr string
		want       []string
	}{
		{"histogram quantile by le", `histogram_quantile(0.95, sum by (le) (rate(altus4_request_duration_seconds_bucket{job="altus"}[5m])))`, nil},
		{"5xx share", `sum(rate(altus4_request_duration_seconds_count{status_code=~"5.."}[5m])) / sum(rate(altus4_request_duration_seconds_count[5m]))`, nil},
		{"library metric", `rate(process_cpu_seconds_total{service="search"}[5m]) > 0.7`, nil},
		{"grpc metric labels", `sum by (grpc_code) (rate(grpc_server_handled_total{grpc_service="altus.search.v1.SearchService"}[5m]))`, nil},
		{"unknown metric", `altus4_cache_hit_rate < 0.8`, []string{"metric-unknown"}},
		{"bucket of a gauge", `altus4_cache_hit_ratio_bucket`, []string{"metric-unknown"}},
		{"unknown label matcher", `altus4_cache_hit_ratio{cache="results"}`, []string{"label-unknown"}},
		{"grouping by a missing label", `sum by (status) (rate(altus4_request_duration_seconds_count[5m]))`, []string{"label-unknown"}},
		{"syntax error", `sum(rate(altus4_request_duration_seconds_count[5m])`, []string{"promql"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{}
			CheckExpr(tt.expr, f, "test", r)
			if d := cmp.Diff(tt.want, r.Codes()); d != "" {
				t.Errorf("codes (-want +got):\n%s\n%s", d, r.String())
			}
		})
	}
}

func TestCheckRulesUsesPrometheusRuleFormat(t *testing.T) {
	f := loadFacts(t)
	tests := []struct {
		name, rules string
		want        []string
	}{
		{"valid", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        for: 1m\n", nil},
		{"misspelt field", "groups:\n  - name: g\n    rules:\n      - alert: A\n        exprr: up == 0\n", []string{"rulefmt"}},
		{"bad template", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        annotations:\n          summary: '{{ $value | nosuchfunc }}'\n", []string{"rulefmt"}},
		{"unknown metric", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: altus4_nope > 1\n", []string{"metric-unknown"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "rules.yaml")
			if err := os.WriteFile(file, []byte(tt.rules), 0o600); err != nil {
				t.Fatal(err)
			}
			r := &Report{}
			CheckRules(file, f, r)
			if d := cmp.Diff(tt.want, r.Codes()); d != "" {
				t.Errorf("codes (-want +got):\n%s\n%s", d, r.String())
			}
		})
	}
}

func TestCheckComposeChecksServicesAgainstTheirConfiguration(t *testing.T) {
	f := loadFacts(t)
	file := filepath.Join(root, "deploy/compose/compose.yaml")
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		old, new string
		want     []string
	}{
		{"unchanged", "", "", nil},
		{"misspelt setting", "      ALTUS_GRPC_PORT: \"50051\"\n", "      ALTUS_GRPC_PORT: \"50051\"\n      ALTUS_SEARCH_CACHE_TTLS: 5m\n", []string{"env-unknown"}},
		{"unknown service key", "    image: altus4/enhance:5.0.0\n", "    image: altus4/enhance:5.0.0\n    imagee: x\n", []string{"address", "decode", "depends-on", "missing-service"}},
		{"wrong admin port", "      ALTUS_ADMIN_PORT: \"9093\"\n", "      ALTUS_ADMIN_PORT: \"9193\"\n", []string{"port-env"}},
		{"wrong Dockerfile", "dockerfile: deploy/docker/cache.Dockerfile", "dockerfile: deploy/docker/search.Dockerfile", []string{"compose-build"}},
		{"dependency that does not exist", "      - enhance\n", "      - enhancer\n", []string{"depends-on"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := string(orig)
			if tt.old != "" {
				if !strings.Contains(b, tt.old) {
					t.Fatalf("compose.yaml no longer contains %q", tt.old)
				}
				b = strings.Replace(b, tt.old, tt.new, 1)
			}
			r := &Report{}
			CheckComposeBytes(file, []byte(b), f, r)
			if d := cmp.Diff(tt.want, r.Codes()); d != "" {
				t.Errorf("codes (-want +got):\n%s\n%s", d, r.String())
			}
		})
	}
}

func TestCheckDockerfileChecksTheBuild(t *testing.T) {
	f := loadFacts(t)
	file := filepath.Join(root, "deploy/docker/search.Dockerfile")
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		old, new string
		want     []string
	}{
		{"unchanged", "", "", nil},
		{"workspace module's go.mod not copied", "COPY services/cache/go.mod services/cache/go.sum services/cache/\n", "", []string{"docker-copy"}},
		{"wrong package", "-o /out/search ./services/search", "-o /out/search ./services/searc", []string{"docker-build"}},
		{"not distroless", "FROM gcr.io/distroless/static-debian12:nonroot", "FROM debian:bookworm", []string{"docker-base"}},
		{"root user", "USER 65532:65532", "USER root", []string{"security"}},
		{"cgo on", "ENV CGO_ENABLED=0 GOFLAGS=-trimpath", "ENV GOFLAGS=-trimpath", []string{"docker-static"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := string(orig)
			if tt.old != "" {
				if !strings.Contains(b, tt.old) {
					t.Fatalf("search.Dockerfile no longer contains %q", tt.old)
				}
				b = strings.Replace(b, tt.old, tt.new, 1)
			}
			r := &Report{}
			CheckDockerfile(f.Services["search"], file, []byte(b), f, r)
			if d := cmp.Diff(tt.want, r.Codes()); d != "" {
				t.Errorf("codes (-want +got):\n%s\n%s", d, r.String())
			}
		})
	}
}

func TestLoadBalancerConfigsAreCheckedByTheirOwnTools(t *testing.T) {
	f := loadFacts(t)
	_, errN := exec.LookPath("nginx")
	_, errH := exec.LookPath("haproxy")
	if errN != nil || errH != nil {
		t.Skip("nginx or haproxy is not installed (apt-get install nginx haproxy)")
	}
	nginxFile := filepath.Join(root, "deploy/nginx/nginx.conf")
	haproxyFile := filepath.Join(root, "deploy/haproxy/haproxy.cfg")
	nginx, err := os.ReadFile(nginxFile)
	if err != nil {
		t.Fatal(err)
	}
	haproxy, err := os.ReadFile(haproxyFile)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		nginx, haproxy string
		want           []string
	}{
		{"unchanged", string(nginx), string(haproxy), nil},
		{"nginx directive in the wrong context", strings.Replace(string(nginx), "proxy_read_timeout 1s;", "proxy_timeout 1s;", 1), string(haproxy), []string{"nginx-t"}},
		{"haproxy unknown keyword", string(nginx), strings.Replace(string(haproxy), "balance leastconn", "balance leastconnections", 1), []string{"haproxy-c"}},
		{"gRPC port missing", strings.ReplaceAll(string(nginx), ":50053 ", ":50063 "), string(haproxy), []string{"lb-port"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{}
			CheckLoadBalancerConfigs(nginxFile, []byte(tt.nginx), haproxyFile, []byte(tt.haproxy), f, true, r)
			if d := cmp.Diff(tt.want, r.Codes()); d != "" {
				t.Errorf("codes (-want +got):\n%s\n%s", d, r.String())
			}
		})
	}
}

func TestCheckScrapeReplaysTheRelabelling(t *testing.T) {
	f := loadFacts(t)
	file := filepath.Join(root, "deploy/prometheus/scrape.yaml")
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		old, new string
		want     []string
	}{
		{"unchanged", "", "", nil},
		{"pods of another part-of label", "        regex: altus\n", "        regex: altus4\n", []string{"scrape-target"}},
		{"static target on the gRPC port", `"127.0.0.1:9091"`, `"127.0.0.1:50051"`, []string{"scrape-target"}},
		{"no service label", "        target_label: service\n", "        target_label: app\n", []string{"scrape-target"}},
		{"misspelt key", "    scrape_interval: 15s\n", "    scrape_intervall: 15s\n", []string{"scrape-config"}},
		{"replace without a target label", "      - target_label: job\n", "      - action: replace\n", []string{"scrape-config"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := string(orig)
			if tt.old != "" {
				if !strings.Contains(b, tt.old) {
					t.Fatalf("scrape.yaml no longer contains %q", tt.old)
				}
				b = strings.Replace(b, tt.old, tt.new, 1)
			}
			r := &Report{}
			CheckScrapeBytes(file, []byte(b), production(t), f, r)
			if d := cmp.Diff(tt.want, r.Codes()); d != "" {
				t.Errorf("codes (-want +got):\n%s\n%s", d, r.String())
			}
		})
	}
}
