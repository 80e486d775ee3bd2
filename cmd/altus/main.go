// Command altus runs the whole suite in one process: the gateway and the
// account, search, cache, enhance and dbrouter services, each with its own
// gRPC server, admin port and configuration, wired to one another over
// loopback exactly as separate binaries are. It is for a laptop, a demo or a
// small machine; a deployment that scales runs the binaries apart.
//
// Usage:
//
//	altus            serve every service (each applies its pending migrations first unless ALTUS_MIGRATE=false)
//	altus migrate    apply the pending migrations of account, dbrouter and search, and exit
//
// Every service reads the process environment, as its own binary does,
// except for its ports: ALTUS_<SVC>_PORT (gRPC) and ALTUS_<SVC>_ADMIN_PORT
// (/metrics) set them per service (SVC one of GATEWAY, SEARCH, CACHE,
// ENHANCE, DBROUTER, ACCOUNT; the gateway's REST port is PORT), each with
// its binary's default, and unless ALTUS_<SVC>_ADDR says otherwise the
// services reach one another at 127.0.0.1 on those ports. Traces name the
// service altus (OTEL_SERVICE_NAME overrides it); the spans of every hop are
// there as with separate binaries.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	gateway "github.com/altus4/altus/gateway/app"
	"github.com/altus4/altus/pkg/config"
	"github.com/altus4/altus/pkg/process"
	"github.com/altus4/altus/pkg/telemetry"
	account "github.com/altus4/altus/services/account/app"
	cache "github.com/altus4/altus/services/cache/app"
	dbrouter "github.com/altus4/altus/services/dbrouter/app"
	enhance "github.com/altus4/altus/services/enhance/app"
	search "github.com/altus4/altus/services/search/app"
)

func main() { process.Main("altus", run) }

// service is one of the suite's services as the all-in-one runs it.
type service struct {
	name     string
	run      func(context.Context, []string, process.Env) error
	grpcPort int // the binary's default; 0 for the gateway
	migrates bool
}

// services in start order (the gateway last). The ports are the binaries'
// defaults (each service's config package).
var services = []service{
	{name: "cache", run: cache.Run, grpcPort: 50052},
	{name: "dbrouter", run: dbrouter.Run, grpcPort: 50054, migrates: true},
	{name: "account", run: account.Run, grpcPort: 50055, migrates: true},
	{name: "enhance", run: enhance.Run, grpcPort: 50053},
	{name: "search", run: search.Run, grpcPort: 50051, migrates: true},
	{name: "gateway", run: gateway.Run},
}

func run(ctx context.Context, args []string) error {
	migrateOnly, err := process.MigrateOnly("altus", args)
	if err != nil {
		return err
	}
	environ := os.Environ()
	envs, err := serviceEnvirons(environ)
	if err != nil {
		return err
	}
	if migrateOnly {
		for _, s := range services {
			if !s.migrates {
				continue
			}
			if err := s.run(ctx, []string{"migrate"}, process.Env{Environ: envs[s.name]}); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
		}
		return nil
	}

	shutdownTracing, err := telemetry.SetupTracing(ctx, telemetry.TracingConfig{ServiceName: "altus", Version: config.Version})
	if err != nil {
		return err
	}
	defer func() { _ = shutdownTracing(context.Background()) }()

	// One service stopping (an error at start, say) stops them all. The
	// gateway stops first, so that the requests it drains still reach the
	// services behind it; they stop once it has.
	gatewayCtx, stopGateway := context.WithCancel(ctx)
	defer stopGateway()
	servicesCtx, stopServices := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServices()
	type result struct {
		name string
		err  error
	}
	results := make(chan result, len(services))
	for _, s := range services {
		sctx := servicesCtx
		if s.name == "gateway" {
			sctx = gatewayCtx
		}
		go func() {
			err := s.run(sctx, nil, process.Env{Environ: envs[s.name], AllInOne: true})
			if err == nil && sctx.Err() == nil {
				err = errors.New("stopped")
			}
			results <- result{s.name, err}
		}()
	}
	var first error
	keep := func(r result) {
		if r.err != nil && first == nil {
			first = fmt.Errorf("%s: %w", r.name, r.err)
		}
	}
	running := len(services)
	gatewayRunning := true
	select {
	case <-ctx.Done():
	case r := <-results:
		running--
		gatewayRunning = r.name != "gateway"
		keep(r)
	}
	stopGateway()
	for gatewayRunning {
		r := <-results
		running--
		gatewayRunning = r.name != "gateway"
		keep(r)
	}
	stopServices()
	for ; running > 0; running-- {
		keep(<-results)
	}
	return first
}

// serviceEnvirons gives each service the process environment with its own
// ALTUS_GRPC_PORT and ALTUS_ADMIN_PORT (from ALTUS_<SVC>_PORT and
// ALTUS_<SVC>_ADMIN_PORT, else the binary's default) and the addresses of
// the others (ALTUS_<SVC>_ADDR, else 127.0.0.1 and their port).
func serviceEnvirons(environ []string) (map[string][]string, error) {
	get := map[string]string{}
	var base []string
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		get[k] = v
		// A single ALTUS_GRPC_PORT or ALTUS_ADMIN_PORT would give every
		// service the same port: they are set per service below.
		if k != "ALTUS_GRPC_PORT" && k != "ALTUS_ADMIN_PORT" {
			base = append(base, kv)
		}
	}
	for _, k := range []string{"ALTUS_GRPC_PORT", "ALTUS_ADMIN_PORT"} {
		if _, set := get[k]; set {
			return nil, fmt.Errorf("%s is for one service's own binary; the all-in-one takes ALTUS_<SVC>_PORT and ALTUS_<SVC>_ADMIN_PORT per service (SVC one of GATEWAY, SEARCH, CACHE, ENHANCE, DBROUTER, ACCOUNT)", k)
		}
	}
	ports := map[string]string{}
	for _, s := range services {
		upper := strings.ToUpper(s.name)
		if s.grpcPort == 0 {
			continue
		}
		port := strconv.Itoa(s.grpcPort)
		if v, ok := get["ALTUS_"+upper+"_PORT"]; ok {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 || n > 65535 {
				return nil, fmt.Errorf("ALTUS_%s_PORT must be a port number (1-65535); got %q", upper, v)
			}
			port = v
		}
		ports[s.name] = port
		if _, ok := get["ALTUS_"+upper+"_ADDR"]; !ok {
			base = append(base, "ALTUS_"+upper+"_ADDR=127.0.0.1:"+port)
		}
	}
	envs := map[string][]string{}
	for _, s := range services {
		upper := strings.ToUpper(s.name)
		own := append([]string(nil), base...)
		if p, ok := ports[s.name]; ok {
			own = append(own, "ALTUS_GRPC_PORT="+p)
		}
		if v, ok := get["ALTUS_"+upper+"_ADMIN_PORT"]; ok {
			own = append(own, "ALTUS_ADMIN_PORT="+v)
		}
		envs[s.name] = own
	}
	return envs, nil
}
