// Package process is the skeleton every Altus binary shares: structured
// logging, tracing, a Prometheus registry and admin port, and a lifecycle
// that drains and closes everything in order. A main wires its own
// dependencies and servers onto it and calls Run.
package process

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/altus4/altus/pkg/config"
	"github.com/altus4/altus/pkg/grpcx"
	"github.com/altus4/altus/pkg/lifecycle"
	"github.com/altus4/altus/pkg/metadb"
	"github.com/altus4/altus/pkg/migrate"
	"github.com/altus4/altus/pkg/telemetry"
)

// Options configure Start.
type Options struct {
	// Service is the service name used in logs, traces and metrics.
	Service string
	// Runtime is the shared runtime configuration.
	Runtime config.Runtime
	// DefaultAdminPort serves /metrics unless Runtime.AdminPort overrides it.
	DefaultAdminPort int
	// Stdout receives the JSON logs.
	Stdout io.Writer
	// Getenv reads the OTEL_* variables; nil means os.Getenv.
	Getenv func(string) string
	// Warnings from the configuration are logged at start.
	Warnings []string
	// AllInOne says the process runs every service (the all-in-one
	// binary), which has set tracing up for all of them: Start leaves
	// tracing alone, and ServeGRPC opens the server to in-process calls
	// (grpcx.Server.ServeLocal).
	AllInOne bool
}

// Env is what a service takes from the process it runs in. Its zero value
// is a binary's own: the process environment, and tracing set up by the
// service.
type Env struct {
	// Environ is the service's environment in os.Environ() form; nil
	// means the process environment.
	Environ []string
	// AllInOne: see Options.AllInOne.
	AllInOne bool
}

// Process is a running binary's shared machinery.
type Process struct {
	Service  string
	Log      *slog.Logger
	Registry *prometheus.Registry
	App      *lifecycle.App
	// AdminExtra routes are served on the admin port beside /metrics.
	AdminExtra map[string]http.Handler
	adminPort  int
	allInOne   bool
}

// Start sets up logging, tracing and metrics. Tracing is flushed last on shutdown.
func Start(ctx context.Context, o Options) (*Process, error) {
	log := telemetry.NewLogger(o.Stdout, o.Runtime.Level(), o.Service)
	shutdownTracing := func(context.Context) error { return nil }
	if !o.AllInOne {
		var err error
		shutdownTracing, err = telemetry.SetupTracing(ctx, telemetry.TracingConfig{ServiceName: o.Service, Version: config.Version, Getenv: o.Getenv})
		if err != nil {
			return nil, err
		}
	}
	for _, w := range o.Warnings {
		log.Warn(w)
	}
	app := lifecycle.New(log, o.Runtime.DrainDelay, o.Runtime.StopTimeout)
	app.AddCloser("tracing", shutdownTracing)
	return &Process{
		Service:    o.Service,
		Log:        log,
		Registry:   telemetry.NewRegistry(),
		App:        app,
		AdminExtra: map[string]http.Handler{},
		adminPort:  config.PortOr(o.Runtime.AdminPort, o.DefaultAdminPort),
		allInOne:   o.AllInOne,
	}, nil
}

// Listen opens a TCP listener on port (all interfaces), with a clear error.
func Listen(port int, what string) (net.Listener, error) {
	lis, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return nil, fmt.Errorf("%s: listen on port %d: %w", what, port, err)
	}
	return lis, nil
}

// ServeGRPC serves srv on port: marked SERVING now, NOT_SERVING when draining.
func (p *Process) ServeGRPC(srv *grpcx.Server, port int) error {
	lis, err := Listen(port, p.Service+" gRPC")
	if err != nil {
		return err
	}
	srv.Ready()
	p.App.OnDrain(srv.Drain)
	p.App.AddServer(lifecycle.GRPCServer(p.Service+" gRPC :"+strconv.Itoa(port), srv.Server, lis))
	if p.allInOne {
		// Calls from the other services of the process run in process
		// until the drain; then they go through the network, as calls
		// from elsewhere do.
		p.App.OnDrain(srv.ServeLocal(strconv.Itoa(port)))
	}
	return nil
}

// ServeHTTP serves h on port.
func (p *Process) ServeHTTP(name string, h http.Handler, port int) error {
	lis, err := Listen(port, p.Service+" "+name)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	p.App.AddServer(lifecycle.HTTPServer(p.Service+" "+name+" :"+strconv.Itoa(port), srv, lis))
	return nil
}

// Run serves the admin port and every registered server until ctx ends.
func (p *Process) Run(ctx context.Context) error {
	if err := p.ServeHTTP("admin", telemetry.AdminHandler(p.Registry, p.AdminExtra), p.adminPort); err != nil {
		return err
	}
	p.Log.Info("starting", "version", config.Version, "admin_port", p.adminPort)
	err := p.App.Run(ctx)
	p.Log.Info("stopped")
	return err
}

// MetadataDatabase opens the metadata database (creating it when missing),
// closes it on shutdown, and applies the service's migrations when apply is
// set (a service's ALTUS_MIGRATE).
func (p *Process) MetadataDatabase(ctx context.Context, cfg config.MySQL, apply bool, fsys fs.FS) (*sql.DB, error) {
	db, err := migrate.Database(ctx, cfg)
	if err != nil {
		return nil, err
	}
	p.App.AddCloser("metadata database", func(context.Context) error { return db.Close() })
	if apply {
		if _, err := migrate.Up(ctx, db, p.Service, fsys, p.Log); err != nil {
			return nil, err
		}
	}
	return db, nil
}

// MetadataReplicas returns the reader of the metadata database's replicas
// (DB_READ_HOST_n; every read goes to primary when there are none), checked
// in the background until shutdown. Use it only for reads that tolerate
// ALTUS_DB_READ_MAX_LAG of staleness; never for authentication.
func (p *Process) MetadataReplicas(ctx context.Context, cfg config.MySQL, primary *sql.DB) (*metadb.Reader, error) {
	r, err := metadb.New(ctx, cfg, primary, p.Log)
	if err != nil {
		return nil, err
	}
	p.App.AddCloser("metadata replicas", func(context.Context) error { return r.Close() })
	if err := p.Registry.Register(r); err != nil {
		return nil, fmt.Errorf("metadata replica metrics: %w", err)
	}
	if n := len(cfg.ReadHosts); n > 0 {
		healthy := 0
		for _, st := range r.Statuses() {
			if st.Healthy {
				healthy++
			}
		}
		p.Log.Info("metadata replicas", "replicas", n, "healthy", healthy, "max_lag", cfg.ReadMaxLag.String())
	}
	return r, nil
}
