// Package usage batches API-key usage at the edge and sends it to the account
// service every few seconds, so that a key's request count and last use stay
// accurate without a database write per request.
package usage

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	accountv1 "github.com/altus4/altus/pkg/gen/altus/account/v1"
)

// Recorder accumulates usage and flushes it periodically.
type Recorder struct {
	client   accountv1.AccountServiceClient
	interval time.Duration
	log      *slog.Logger

	mu      sync.Mutex
	pending map[string]*accountv1.ApiKeyUsageDelta
	stop    chan struct{}
	done    chan struct{}
}

// New returns a Recorder flushing every interval.
func New(client accountv1.AccountServiceClient, interval time.Duration, log *slog.Logger) *Recorder {
	return &Recorder{client: client, interval: interval, log: log, pending: map[string]*accountv1.ApiKeyUsageDelta{}, stop: make(chan struct{}), done: make(chan struct{})}
}

// Record counts one request made with keyID from ip at t.
func (r *Recorder) Record(keyID, ip string, t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.pending[keyID]
	if !ok {
		d = &accountv1.ApiKeyUsageDelta{ApiKeyId: keyID}
		r.pending[keyID] = d
	}
	d.Count++
	d.LastUsed = timestamppb.New(t)
	d.LastUsedIp = ip
}

// Flush sends what has accumulated. On failure the counts are put back.
func (r *Recorder) Flush(ctx context.Context) {
	r.mu.Lock()
	if len(r.pending) == 0 {
		r.mu.Unlock()
		return
	}
	batch := r.pending
	r.pending = map[string]*accountv1.ApiKeyUsageDelta{}
	r.mu.Unlock()

	req := &accountv1.RecordApiKeyUsageRequest{}
	for _, d := range batch {
		req.Deltas = append(req.Deltas, d)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := r.client.RecordApiKeyUsage(cctx, req); err != nil {
		r.log.WarnContext(ctx, "recording API key usage failed; will retry", "keys", len(batch), "error", err)
		r.mu.Lock()
		for id, d := range batch {
			if cur, ok := r.pending[id]; ok {
				cur.Count += d.Count
			} else {
				r.pending[id] = d
			}
		}
		r.mu.Unlock()
	}
}

// Serve flushes every interval until Stop.
func (r *Recorder) Serve() error {
	defer close(r.done)
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.Flush(context.Background())
		case <-r.stop:
			return nil
		}
	}
}

// Stop ends Serve and flushes what is left before ctx ends.
func (r *Recorder) Stop(ctx context.Context) {
	close(r.stop)
	<-r.done
	r.Flush(ctx)
}
