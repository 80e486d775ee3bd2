package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// composeService is the subset of the Compose specification the file may
// use; any other key is a problem (decoded strictly).
type composeService struct {
	Image           string            `json:"image"`
	Build           *composeBuild     `json:"build,omitempty"`
	Environment     map[string]string `json:"environment,omitempty"`
	Ports           []string          `json:"ports,omitempty"`
	DependsOn       json.RawMessage   `json:"depends_on,omitempty"`
	Volumes         []string          `json:"volumes,omitempty"`
	Healthcheck     *composeHealth    `json:"healthcheck,omitempty"`
	Restart         string            `json:"restart,omitempty"`
	ReadOnly        bool              `json:"read_only,omitempty"`
	User            string            `json:"user,omitempty"`
	SecurityOpt     []string          `json:"security_opt,omitempty"`
	CapDrop         []string          `json:"cap_drop,omitempty"`
	Tmpfs           []string          `json:"tmpfs,omitempty"`
	StopGracePeriod string            `json:"stop_grace_period,omitempty"`
	Command         []string          `json:"command,omitempty"`
	Deploy          map[string]any    `json:"deploy,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	Networks        []string          `json:"networks,omitempty"`
}

type composeBuild struct {
	Context    string `json:"context"`
	Dockerfile string `json:"dockerfile"`
}

type composeHealth struct {
	Test     []string `json:"test"`
	Interval string   `json:"interval,omitempty"`
	Timeout  string   `json:"timeout,omitempty"`
	Retries  int      `json:"retries,omitempty"`
}

var composeTop = map[string]bool{"name": true, "services": true, "volumes": true, "networks": true}

// serviceAddr matches the value of an ALTUS_<SVC>_ADDR in Compose.
var serviceAddr = regexp.MustCompile(`^(?:dns:///)?([a-z0-9-]+):(\d+)$`)

// CheckCompose parses the compose file (anchors and merge keys resolved)
// and checks every suite service's image build, environment and ports.
func CheckCompose(file string, f *Facts, r *Report) {
	b, err := os.ReadFile(file)
	if err != nil {
		r.Addf("read", file, "%v", err)
		return
	}
	CheckComposeBytes(file, b, f, r)
}

// CheckComposeBytes checks compose content b as if it were file.
func CheckComposeBytes(file string, b []byte, f *Facts, r *Report) {
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		r.Addf("yaml", file, "%v", err)
		return
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(j, &top); err != nil {
		r.Addf("yaml", file, "%v", err)
		return
	}
	for k := range top {
		if !composeTop[k] && !strings.HasPrefix(k, "x-") {
			r.Addf("compose-key", file, "unknown top-level key %q", k)
		}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(top["services"], &raw); err != nil {
		r.Addf("yaml", file, "services: %v", err)
		return
	}
	services := map[string]*composeService{}
	for name, rs := range raw {
		s := &composeService{}
		if err := strictJSON(rs, s); err != nil {
			r.Addf("decode", file+": "+name, "%v", err)
			continue
		}
		services[name] = s
	}
	for _, name := range f.ServiceNames() {
		svc := f.Services[name]
		s := services[name]
		id := file + ": " + name
		if s == nil {
			r.Addf("missing-service", file, "no service %s", name)
			continue
		}
		if s.Build == nil {
			r.Addf("compose-build", id, "no build section")
		} else {
			df := filepath.Join(filepath.Dir(file), s.Build.Context, s.Build.Dockerfile)
			if want := filepath.Join(f.Root, "deploy", "docker", name+".Dockerfile"); filepath.Clean(df) != filepath.Clean(want) {
				r.Addf("compose-build", id, "builds %s, not %s", df, want)
			}
			if ctx := filepath.Join(filepath.Dir(file), s.Build.Context); filepath.Clean(ctx) != filepath.Clean(f.Root) {
				r.Addf("compose-build", id, "the build context must be the repository root (go.work), not %s", ctx)
			}
		}
		if strings.HasSuffix(s.Image, ":latest") || !strings.Contains(s.Image, ":") {
			r.Addf("image-tag", id, "image %q needs a version tag", s.Image)
		}
		names := make([]string, 0, len(s.Environment))
		for k := range s.Environment {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if !f.KnownEnv(name, k) {
				r.Addf("env-unknown", id, "%s is not read by the %s service", k, name)
			}
		}
		if v := s.Environment[svc.ServePortVar]; v != strconv.Itoa(svc.ServePort) {
			r.Addf("port-env", id, "%s=%q; the deployment files use %d", svc.ServePortVar, v, svc.ServePort)
		}
		if v := s.Environment["ALTUS_ADMIN_PORT"]; v != strconv.Itoa(svc.AdminPort) {
			r.Addf("port-env", id, "ALTUS_ADMIN_PORT=%q; the deployment files use %d", v, svc.AdminPort)
		}
		if s.Environment["JWT_SECRET"] == "" {
			r.Addf("env-secret", id, "JWT_SECRET is not passed")
		}
		for k, v := range s.Environment {
			target, ok := strings.CutSuffix(strings.TrimPrefix(k, "ALTUS_"), "_ADDR")
			if !ok || !strings.HasPrefix(k, "ALTUS_") {
				continue
			}
			target = strings.ToLower(target)
			m := serviceAddr.FindStringSubmatch(v)
			if m == nil || services[m[1]] == nil || f.Services[target] == nil || m[2] != strconv.Itoa(f.Services[target].ServePort) || m[1] != target {
				r.Addf("address", id, "%s=%s does not name the %s service on its gRPC port", k, v, target)
			}
		}
		if s.User == "" || s.User == "0" || strings.HasPrefix(s.User, "0:") || strings.HasPrefix(s.User, "root") {
			r.Addf("security", id, "run as a non-root user")
		}
		if !s.ReadOnly {
			r.Addf("security", id, "set read_only: true")
		}
	}
	for name, s := range services {
		for _, dep := range dependsOn(s.DependsOn) {
			if services[dep] == nil {
				r.Addf("depends-on", file+": "+name, "depends on %s, which is not a service", dep)
			}
		}
	}
	r.Notef("compose %s: %d services parsed and checked", file, len(services))
}

// dependsOn reads depends_on in its list or map form.
func dependsOn(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	for k := range m {
		list = append(list, k)
	}
	return list
}
