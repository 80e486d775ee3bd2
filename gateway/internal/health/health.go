// Package health tracks whether the services the gateway depends on are
// serving, by polling their grpc.health.v1 endpoints in the background, and
// answers GET /health from that state: 200 when the suite can serve, 503
// while it is starting, draining, or missing a required service.
package health

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/altus4/altus/pkg/config"
)

// Dependency is a service to poll.
type Dependency struct {
	// Name is how /health reports it.
	Name string
	Conn grpc.ClientConnInterface
	// Service is the grpc.health.v1 service name to check ("" = the whole server).
	Service string
	// Required dependencies make the gateway unready when they are down;
	// optional ones only degrade it.
	Required bool
}

// Checker polls dependencies and serves /health.
type Checker struct {
	deps     []Dependency
	interval time.Duration
	env      string
	started  time.Time
	extra    func() map[string]string

	mu       sync.RWMutex
	state    map[string]bool
	polled   bool
	draining atomic.Bool
	stop     chan struct{}
	done     chan struct{}
	up       *prometheus.GaugeVec
}

// New returns a Checker. extra adds entries to the dependencies report (e.g.
// the rate limiter's mode); it may be nil.
func New(deps []Dependency, interval time.Duration, env string, extra func() map[string]string, reg prometheus.Registerer) *Checker {
	c := &Checker{
		deps: deps, interval: interval, env: env, started: time.Now(), extra: extra,
		state: map[string]bool{}, stop: make(chan struct{}), done: make(chan struct{}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "altus4_dependency_up",
			Help: "1 when a dependency of the gateway answers its health check as SERVING.",
		}, []string{"dependency"}),
	}
	if reg != nil {
		reg.MustRegister(c.up)
	}
	return c
}

// Poll checks every dependency once, concurrently.
func (c *Checker) Poll(ctx context.Context) {
	results := make([]bool, len(c.deps))
	var wg sync.WaitGroup
	for i, d := range c.deps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			resp, err := healthpb.NewHealthClient(d.Conn).Check(cctx, &healthpb.HealthCheckRequest{Service: d.Service})
			results[i] = err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING
		}()
	}
	wg.Wait()
	c.mu.Lock()
	for i, d := range c.deps {
		c.state[d.Name] = results[i]
		v := 0.0
		if results[i] {
			v = 1
		}
		c.up.WithLabelValues(d.Name).Set(v)
	}
	c.polled = true
	c.mu.Unlock()
}

// Serve polls until Stop.
func (c *Checker) Serve() error {
	defer close(c.done)
	c.Poll(context.Background())
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			c.Poll(context.Background())
		case <-c.stop:
			return nil
		}
	}
}

// Stop ends Serve.
func (c *Checker) Stop(context.Context) {
	close(c.stop)
	<-c.done
}

// Drain makes /health answer 503 so that load balancers stop sending traffic.
func (c *Checker) Drain() { c.draining.Store(true) }

// Report is the body of GET /health (v1 fields plus dependencies).
type Report struct {
	Status       string            `json:"status"`
	Timestamp    string            `json:"timestamp"`
	Version      string            `json:"version"`
	Uptime       float64           `json:"uptime"`
	Env          string            `json:"env"`
	Dependencies map[string]string `json:"dependencies"`
}

// Snapshot returns the current report and whether the gateway is ready.
func (c *Checker) Snapshot() (Report, bool) {
	r := Report{
		Timestamp:    time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		Version:      config.Version,
		Uptime:       time.Since(c.started).Seconds(),
		Env:          c.env,
		Dependencies: map[string]string{},
	}
	c.mu.RLock()
	polled := c.polled
	ready, degraded := polled, false
	for _, d := range c.deps {
		ok := c.state[d.Name]
		switch {
		case !polled:
			r.Dependencies[d.Name] = "unknown"
		case ok:
			r.Dependencies[d.Name] = "ok"
		case d.Required:
			r.Dependencies[d.Name] = "down"
			ready = false
		default:
			r.Dependencies[d.Name] = "down"
			degraded = true
		}
	}
	c.mu.RUnlock()
	if c.extra != nil {
		for k, v := range c.extra() {
			r.Dependencies[k] = v
			if v == "degraded" {
				degraded = true
			}
		}
	}
	switch {
	case c.draining.Load():
		r.Status, ready = "draining", false
	case !polled:
		r.Status = "starting"
	case !ready:
		r.Status = "unavailable"
	case degraded:
		r.Status = "degraded"
	default:
		r.Status = "ok"
	}
	return r, ready
}

// ServeHTTP answers GET /health.
func (c *Checker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rep, ready := c.Snapshot()
	code := http.StatusOK
	if !ready {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(rep)
}
