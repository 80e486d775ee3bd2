package events

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Inserter writes a batch of events; *Store is one.
type Inserter interface {
	Insert(ctx context.Context, evs []Event) error
}

// RecorderOptions configure NewRecorder.
type RecorderOptions struct {
	// QueueSize bounds the events waiting to be written (default 10000);
	// beyond it events are dropped and counted, never waited for.
	QueueSize int
	// BatchSize is how many events make a batch written at once (default 100).
	BatchSize int
	// FlushInterval is the longest an event waits before its batch is
	// written (default 1s).
	FlushInterval time.Duration
	// WriteTimeout bounds one batch insert (default 10s).
	WriteTimeout time.Duration
	// Registry receives altus4_search_events_total; nil registers nothing.
	Registry prometheus.Registerer
	// Log receives failed writes.
	Log *slog.Logger
	// Flushed, when set, is called after each batch is handled with the
	// number of events in it and the write error (for tests and logs).
	Flushed func(n int, err error)
}

// MetricEvents counts search events by outcome: written, dropped (queue
// full) or failed (the insert failed).
const MetricEvents = "altus4_search_events_total"

// Recorder records search events asynchronously: Record puts an event on a
// bounded in-memory queue and returns at once; a background loop writes the
// queue in batches with one multi-row INSERT each, every FlushInterval or
// as soon as BatchSize events wait. A full queue drops the event (counted)
// rather than blocking or failing the search. Close writes what is left.
type Recorder struct {
	ins     Inserter
	opts    RecorderOptions
	queue   chan Event
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	mu      sync.Mutex
	pending map[string]string // event id -> user id, queued or being written
	written prometheus.Counter
	dropped prometheus.Counter
	failed  prometheus.Counter
}

// NewRecorder returns a recorder writing through ins and starts its loop.
func NewRecorder(ins Inserter, o RecorderOptions) *Recorder {
	if o.QueueSize <= 0 {
		o.QueueSize = 10000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricEvents,
		Help: "Search events recorded for history and analytics, by outcome: written, dropped (queue full) or failed (insert failed).",
	}, []string{"outcome"})
	if o.Registry != nil {
		o.Registry.MustRegister(vec)
	}
	r := &Recorder{
		ins: ins, opts: o,
		queue:   make(chan Event, o.QueueSize),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		pending: map[string]string{},
		written: vec.WithLabelValues("written"),
		dropped: vec.WithLabelValues("dropped"),
		failed:  vec.WithLabelValues("failed"),
	}
	go r.loop()
	return r
}

// Record queues e without ever blocking; it reports false when the queue
// was full and the event was dropped.
func (r *Recorder) Record(e Event) bool {
	r.mu.Lock()
	r.pending[e.ID] = e.UserID
	r.mu.Unlock()
	select {
	case r.queue <- e:
		return true
	default:
		r.forget([]Event{e})
		r.dropped.Inc()
		return false
	}
}

// Pending returns the user of the event id when it is queued or being
// written: a click may name a search whose event is not in the table yet.
// An event leaves the pending set only once its insert has returned.
func (r *Recorder) Pending(id string) (userID string, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	userID, ok = r.pending[id]
	return userID, ok
}

func (r *Recorder) forget(evs []Event) {
	r.mu.Lock()
	for _, e := range evs {
		delete(r.pending, e.ID)
	}
	r.mu.Unlock()
}

// Dropped returns how many events were dropped because the queue was full.
func (r *Recorder) Dropped() float64 { return counterValue(r.dropped) }

// Close stops the loop after writing every queued event, within ctx.
func (r *Recorder) Close(ctx context.Context) error {
	r.once.Do(func() { close(r.stop) })
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Recorder) loop() {
	defer close(r.done)
	ticker := time.NewTicker(r.opts.FlushInterval)
	defer ticker.Stop()
	batch := make([]Event, 0, r.opts.BatchSize)
	for {
		select {
		case e := <-r.queue:
			batch = append(batch, e)
			if len(batch) >= r.opts.BatchSize {
				r.flush(batch)
				batch = batch[:0]
			}
		case <-ticker.C:
			if len(batch) > 0 {
				r.flush(batch)
				batch = batch[:0]
			}
		case <-r.stop:
			for {
				select {
				case e := <-r.queue:
					batch = append(batch, e)
					if len(batch) >= r.opts.BatchSize {
						r.flush(batch)
						batch = batch[:0]
					}
				default:
					if len(batch) > 0 {
						r.flush(batch)
					}
					return
				}
			}
		}
	}
}

func (r *Recorder) flush(batch []Event) {
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.WriteTimeout)
	defer cancel()
	err := r.ins.Insert(ctx, batch)
	r.forget(batch)
	if err != nil {
		r.failed.Add(float64(len(batch)))
		r.opts.Log.Warn("search events not recorded", "count", len(batch), "error", err)
	} else {
		r.written.Add(float64(len(batch)))
	}
	if r.opts.Flushed != nil {
		r.opts.Flushed(len(batch), err)
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}
