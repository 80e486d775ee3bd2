package main

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"
)

// Service is what the deployment must agree with about one binary, read
// from the suite's source.
type Service struct {
	// Name is the binary and service name (gateway, search, ...).
	Name string
	// Package is the Go package that builds the binary (./gateway, ./services/search).
	Package string
	// Env holds every environment variable its configuration reads.
	Env map[string]bool
	// ServePort is the default port of its API (ALTUS_GRPC_PORT, or PORT for the gateway).
	ServePort int
	// ServePortVar names that variable.
	ServePortVar string
	// AdminPort is its default admin port (/metrics).
	AdminPort int
	// Migrates reports whether the binary has a `migrate` subcommand (it owns tables).
	Migrates bool
	// GRPC reports whether it serves gRPC (all but the gateway).
	GRPC bool
}

// Metric is an exported Prometheus metric.
type Metric struct {
	Labels    map[string]bool
	Histogram bool
	Summary   bool
}

// Facts are the suite's names that deployment files refer to.
type Facts struct {
	Root     string
	Services map[string]*Service
	Metrics  map[string]*Metric
	// Modules are the directories of go.work's use list.
	Modules []string
}

// ServiceNames returns the service names, sorted.
func (f *Facts) ServiceNames() []string {
	var out []string
	for n := range f.Services {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// extraEnv are variables every process reads outside its configuration
// struct: the garbage collector's and OpenTelemetry's (OTEL_ prefix).
var extraEnv = map[string]bool{"GOGC": true, "GOMEMLIMIT": true}

// KnownEnv reports whether service svc reads variable name.
func (f *Facts) KnownEnv(svc, name string) bool {
	s := f.Services[svc]
	if s == nil {
		return false
	}
	return s.Env[name] || extraEnv[name] || strings.HasPrefix(name, "OTEL_")
}

const sharedConfigImport = "github.com/altus4/altus/pkg/config"

// LoadFacts reads the facts from the repository at root.
func LoadFacts(root string) (*Facts, error) {
	f := &Facts{Root: root, Services: map[string]*Service{}, Metrics: map[string]*Metric{}}
	work, err := os.ReadFile(filepath.Join(root, "go.work"))
	if err != nil {
		return nil, err
	}
	wf, err := modfile.ParseWork("go.work", work, nil)
	if err != nil {
		return nil, err
	}
	for _, u := range wf.Use {
		f.Modules = append(f.Modules, filepath.ToSlash(filepath.Clean(u.Path)))
	}
	shared, err := parseDir(filepath.Join(root, "pkg", "config"))
	if err != nil {
		return nil, err
	}
	dirs := map[string]string{"gateway": "gateway"}
	svcDirs, _ := filepath.Glob(filepath.Join(root, "services", "*", "internal", "config"))
	for _, d := range svcDirs {
		name := filepath.Base(filepath.Dir(filepath.Dir(d)))
		dirs[name] = filepath.ToSlash(filepath.Join("services", name))
	}
	for name, dir := range dirs {
		s, err := loadService(root, name, dir, shared)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		f.Services[name] = s
	}
	if err := f.loadMetrics(); err != nil {
		return nil, err
	}
	return f, nil
}

// pkgFiles is one parsed package.
type pkgFiles struct {
	files  []*ast.File
	types  map[string]*ast.StructType
	consts map[string]string
}

func parseDir(dir string) (*pkgFiles, error) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	p := &pkgFiles{types: map[string]*ast.StructType{}, consts: map[string]string{}}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			return nil, err
		}
		p.files = append(p.files, file)
		for _, d := range file.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range gd.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					if st, ok := s.Type.(*ast.StructType); ok {
						p.types[s.Name.Name] = st
					}
				case *ast.ValueSpec:
					if gd.Tok != token.CONST {
						continue
					}
					for i, n := range s.Names {
						if i < len(s.Values) {
							if lit, ok := s.Values[i].(*ast.BasicLit); ok {
								p.consts[n.Name] = litValue(lit)
							}
						}
					}
				}
			}
		}
	}
	return p, nil
}

func litValue(lit *ast.BasicLit) string {
	if lit.Kind == token.STRING {
		if v, err := strconv.Unquote(lit.Value); err == nil {
			return v
		}
	}
	return lit.Value
}

// envFields adds the env tags of struct st (following embedded and named
// struct fields of its own package and of pkg/config) to env, and the
// defaults to defs.
func envFields(st *ast.StructType, own, shared *pkgFiles, env map[string]bool, defs map[string]string) {
	for _, field := range st.Fields.List {
		if field.Tag != nil {
			tag := reflect.StructTag(litValue(field.Tag))
			if key, _, _ := strings.Cut(tag.Get("env"), ","); key != "" {
				if key != "-" {
					env[key] = true
					if d, ok := tag.Lookup("envDefault"); ok {
						defs[key] = d
					}
				}
				continue
			}
		}
		switch t := field.Type.(type) {
		case *ast.Ident:
			if nested := own.types[t.Name]; nested != nil {
				envFields(nested, own, shared, env, defs)
			}
		case *ast.SelectorExpr:
			if nested := shared.types[t.Sel.Name]; nested != nil {
				envFields(nested, shared, shared, env, defs)
			}
		}
	}
}

func loadService(root, name, dir string, shared *pkgFiles) (*Service, error) {
	cfg, err := parseDir(filepath.Join(root, dir, "internal", "config"))
	if err != nil {
		return nil, err
	}
	st := cfg.types["Config"]
	if st == nil {
		return nil, fmt.Errorf("no Config struct in %s/internal/config", dir)
	}
	s := &Service{Name: name, Package: "./" + dir, Env: map[string]bool{}, GRPC: name != "gateway"}
	defs := map[string]string{}
	envFields(st, cfg, shared, s.Env, defs)
	s.ServePortVar = "ALTUS_GRPC_PORT"
	if !s.GRPC {
		s.ServePortVar = "PORT"
	}
	if s.ServePort, err = strconv.Atoi(defs[s.ServePortVar]); err != nil {
		return nil, fmt.Errorf("no default for %s", s.ServePortVar)
	}
	if s.AdminPort, err = strconv.Atoi(cfg.consts["DefaultAdminPort"]); err != nil {
		return nil, fmt.Errorf("no DefaultAdminPort constant")
	}
	// The wiring is in the service's app package (run by its main and by
	// the all-in-one binary), or in its main.
	wiring, err := os.ReadFile(filepath.Join(root, dir, "app", "app.go"))
	if errors.Is(err, fs.ErrNotExist) {
		wiring, err = os.ReadFile(filepath.Join(root, dir, "main.go"))
	}
	if err != nil {
		return nil, err
	}
	s.Migrates = strings.Contains(string(wiring), "process.MigrateOnly(")
	return s, nil
}

var metricName = regexp.MustCompile(`^altus4_[a-z0-9_]+$`)

// loadMetrics finds every altus4_* metric the code registers, with its
// labels, and adds the library metrics the suite's registry carries.
func (f *Facts) loadMetrics() error {
	var dirs []string
	for _, top := range []string{"gateway", "services", "pkg"} {
		err := filepath.WalkDir(filepath.Join(f.Root, top), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if rel, _ := filepath.Rel(f.Root, path); filepath.ToSlash(rel) == "pkg/gen" || d.Name() == "testdata" {
					return filepath.SkipDir
				}
				dirs = append(dirs, path)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	// Constants first (a metric name may be a constant of another package).
	pkgs := make([]*pkgFiles, 0, len(dirs))
	consts := map[string]string{}
	for _, d := range dirs {
		p, err := parseDir(d)
		if err != nil {
			return err
		}
		pkgs = append(pkgs, p)
		for k, v := range p.consts {
			if metricName.MatchString(v) {
				consts[k] = v
			}
		}
	}
	resolve := func(e ast.Expr) string {
		switch v := e.(type) {
		case *ast.BasicLit:
			return litValue(v)
		case *ast.Ident:
			return consts[v.Name]
		case *ast.SelectorExpr:
			return consts[v.Sel.Name]
		}
		return ""
	}
	strings_ := func(e ast.Expr) []string {
		cl, ok := e.(*ast.CompositeLit)
		if !ok {
			return nil
		}
		var out []string
		for _, el := range cl.Elts {
			if kv, ok := el.(*ast.KeyValueExpr); ok {
				el = kv.Key
			}
			if s := resolve(el); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	add := func(name string, hist, summary bool, labels []string) {
		if !metricName.MatchString(name) {
			return
		}
		m := f.Metrics[name]
		if m == nil {
			m = &Metric{Labels: map[string]bool{}}
			f.Metrics[name] = m
		}
		m.Histogram = m.Histogram || hist
		m.Summary = m.Summary || summary
		for _, l := range labels {
			m.Labels[l] = true
		}
	}
	for _, p := range pkgs {
		for _, file := range p.files {
			ast.Inspect(file, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || !strings.HasPrefix(sel.Sel.Name, "New") {
					return true
				}
				fn := sel.Sel.Name
				hist := strings.Contains(fn, "Histogram")
				summary := strings.Contains(fn, "Summary")
				if fn == "NewDesc" && len(call.Args) >= 3 {
					add(resolve(call.Args[0]), false, false, strings_(call.Args[2]))
					return true
				}
				if len(call.Args) == 0 {
					return true
				}
				opts, ok := call.Args[0].(*ast.CompositeLit)
				if !ok {
					return true
				}
				var name string
				var labels []string
				for _, el := range opts.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					key, _ := kv.Key.(*ast.Ident)
					switch {
					case key == nil:
					case key.Name == "Name":
						name = resolve(kv.Value)
					case key.Name == "ConstLabels":
						labels = append(labels, strings_(kv.Value)...)
					}
				}
				if strings.HasSuffix(fn, "Vec") && len(call.Args) >= 2 {
					labels = append(labels, strings_(call.Args[1])...)
				}
				add(name, hist, summary, labels)
				return true
			})
		}
	}
	if len(f.Metrics) == 0 {
		return fmt.Errorf("no altus4_* metric found in the code")
	}
	// Library metrics, present when the code wires their collectors.
	grep := func(rel, s string) bool {
		b, _ := os.ReadFile(filepath.Join(f.Root, rel))
		return strings.Contains(string(b), s)
	}
	lib := func(name string, hist, summary bool, labels ...string) {
		m := &Metric{Labels: map[string]bool{}, Histogram: hist, Summary: summary}
		for _, l := range labels {
			m.Labels[l] = true
		}
		f.Metrics[name] = m
	}
	if grep("pkg/grpcx/server.go", "grpcprom.NewServerMetrics(") {
		lib("grpc_server_started_total", false, false, "grpc_type", "grpc_service", "grpc_method")
		lib("grpc_server_handled_total", false, false, "grpc_type", "grpc_service", "grpc_method", "grpc_code")
		lib("grpc_server_msg_received_total", false, false, "grpc_type", "grpc_service", "grpc_method")
		lib("grpc_server_msg_sent_total", false, false, "grpc_type", "grpc_service", "grpc_method")
		if grep("pkg/grpcx/server.go", "WithServerHandlingTimeHistogram(") {
			lib("grpc_server_handling_seconds", true, false, "grpc_type", "grpc_service", "grpc_method")
		}
	}
	if grep("pkg/telemetry/metrics.go", "NewProcessCollector(") {
		for _, n := range []string{"process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
			"process_open_fds", "process_max_fds", "process_start_time_seconds"} {
			lib(n, false, false)
		}
	}
	if grep("pkg/telemetry/metrics.go", "NewGoCollector(") {
		for _, n := range []string{"go_goroutines", "go_threads", "go_memstats_heap_inuse_bytes", "go_memstats_alloc_bytes"} {
			lib(n, false, false)
		}
		lib("go_gc_duration_seconds", false, true)
	}
	// Series Prometheus adds to every target.
	lib("up", false, false)
	lib("scrape_duration_seconds", false, false)
	return nil
}

// targetLabels are attached by the scrape configuration
// (deploy/prometheus/scrape.yaml), not by the code.
var targetLabels = map[string]bool{"job": true, "instance": true, "service": true, "namespace": true, "pod": true}

// LookupMetric resolves a series name to its metric: a histogram's
// _bucket/_sum/_count and a summary's _sum/_count included. bucket reports
// a _bucket series (which also has the label le).
func (f *Facts) LookupMetric(name string) (m *Metric, bucket bool) {
	if m := f.Metrics[name]; m != nil {
		return m, false
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suf)
		if !ok {
			continue
		}
		if m := f.Metrics[base]; m != nil && (m.Histogram || (m.Summary && suf != "_bucket")) {
			return m, suf == "_bucket"
		}
	}
	return nil, false
}
