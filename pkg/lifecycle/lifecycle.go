// Package lifecycle runs a process's servers together and stops them in the
// order that loses no request: stop accepting traffic (health NOT_SERVING),
// wait a drain window for load balancers to notice, stop the servers within a
// deadline, close pools and clients in reverse order of creation, and flush
// telemetry last.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
)

// Server is something that serves until stopped.
type Server struct {
	// Name is used in logs.
	Name string
	// Serve blocks until the server stops. An error other than a clean stop ends the process.
	Serve func() error
	// Stop asks the server to finish in-flight work before ctx ends, then forces it.
	Stop func(ctx context.Context)
}

// App is one process: its servers, its drain hooks and the things it must close.
type App struct {
	log         *slog.Logger
	servers     []Server
	drainHooks  []func()
	closers     []closer
	drainDelay  time.Duration
	stopTimeout time.Duration
}

type closer struct {
	name string
	fn   func(context.Context) error
}

// New returns an App. drainDelay is how long to keep serving after reporting
// NOT_SERVING; stopTimeout bounds the graceful stop of the servers.
func New(log *slog.Logger, drainDelay, stopTimeout time.Duration) *App {
	return &App{log: log, drainDelay: drainDelay, stopTimeout: stopTimeout}
}

// AddServer registers a server to run.
func (a *App) AddServer(s Server) { a.servers = append(a.servers, s) }

// OnDrain registers a hook run first on shutdown (e.g. set health NOT_SERVING).
func (a *App) OnDrain(fn func()) { a.drainHooks = append(a.drainHooks, fn) }

// AddCloser registers something to close after the servers stop. Closers run
// in reverse order of registration, so register telemetry first (it flushes
// last) and each dependency before what uses it.
func (a *App) AddCloser(name string, fn func(context.Context) error) {
	a.closers = append(a.closers, closer{name: name, fn: fn})
}

// Run serves until ctx is cancelled (e.g. SIGTERM) or a server fails, then
// shuts everything down and returns the first server error, if any.
func (a *App) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range a.servers {
		g.Go(func() error {
			a.log.Info("server started", "server", s.Name)
			if err := s.Serve(); err != nil {
				return fmt.Errorf("%s: %w", s.Name, err)
			}
			return nil
		})
	}
	g.Go(func() error {
		<-gctx.Done()
		a.shutdown()
		return nil
	})
	err := g.Wait()
	a.close()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func (a *App) shutdown() {
	a.log.Info("shutting down: draining", "drain_delay", a.drainDelay.String())
	for _, h := range a.drainHooks {
		h()
	}
	if a.drainDelay > 0 {
		time.Sleep(a.drainDelay)
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.stopTimeout)
	defer cancel()
	done := make(chan struct{})
	for _, s := range a.servers {
		go func() {
			s.Stop(ctx)
			done <- struct{}{}
		}()
	}
	for range a.servers {
		<-done
	}
}

func (a *App) close() {
	ctx, cancel := context.WithTimeout(context.Background(), a.stopTimeout)
	defer cancel()
	for i := len(a.closers) - 1; i >= 0; i-- {
		c := a.closers[i]
		if err := c.fn(ctx); err != nil {
			a.log.Warn("close failed", "resource", c.name, "error", err)
		}
	}
}

// GRPCServer adapts a grpc.Server listening on lis: GracefulStop bounded by
// the stop deadline, then Stop.
func GRPCServer(name string, srv *grpc.Server, lis net.Listener) Server {
	return Server{
		Name:  name,
		Serve: func() error { return srv.Serve(lis) },
		Stop: func(ctx context.Context) {
			stopped := make(chan struct{})
			go func() {
				srv.GracefulStop()
				close(stopped)
			}()
			select {
			case <-stopped:
			case <-ctx.Done():
				// Stop closes every connection and cancels every call's
				// context. GracefulStop still waits for handlers that ignore
				// their context, so it is not waited for: the stop stays
				// bounded and such a handler is abandoned.
				srv.Stop()
			}
		},
	}
}

// HTTPServer adapts an http.Server listening on lis: Shutdown bounded by the
// stop deadline, then Close.
func HTTPServer(name string, srv *http.Server, lis net.Listener) Server {
	return Server{
		Name: name,
		Serve: func() error {
			if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
		Stop: func(ctx context.Context) {
			if err := srv.Shutdown(ctx); err != nil {
				_ = srv.Close()
			}
		},
	}
}
