package lifecycle

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"
)

// Shutdown drains first, stops the servers, then closes resources in reverse
// order of registration, so telemetry (registered first) flushes last.
func TestRunDrainsStopsThenClosesInReverseOrder(t *testing.T) {
	var mu sync.Mutex
	var events []string
	record := func(e string) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	app := New(slog.New(slog.NewTextHandler(io.Discard, nil)), 0, time.Second)
	app.AddCloser("telemetry", func(context.Context) error { record("close telemetry"); return nil })
	app.AddCloser("db", func(context.Context) error { record("close db"); return nil })
	app.OnDrain(func() { record("drain") })
	stop := make(chan struct{})
	app.AddServer(Server{
		Name:  "s",
		Serve: func() error { <-stop; record("served"); return nil },
		Stop:  func(context.Context) { record("stop"); close(stop) },
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- app.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []string{"drain", "stop", "served", "close db", "close telemetry"}
	if !slices.Equal(events, want) {
		t.Fatalf("events = %v, want %v", events, want)
	}
}

func TestAFailingServerStopsTheOthers(t *testing.T) {
	app := New(slog.New(slog.NewTextHandler(io.Discard, nil)), 0, time.Second)
	stop := make(chan struct{})
	app.AddServer(Server{Name: "ok", Serve: func() error { <-stop; return nil }, Stop: func(context.Context) { close(stop) }})
	app.AddServer(Server{Name: "bad", Serve: func() error { return io.ErrUnexpectedEOF }, Stop: func(context.Context) {}})
	if err := app.Run(context.Background()); err == nil {
		t.Fatal("Run returned nil after a server failed")
	}
}
