package grpcx

import (
	"fmt"

	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/mem"
)

// UseTieredBufferPool replaces gRPC's process-wide buffer pool with one that
// has a tier at every power of two from 256 B to 4 MiB. The default pool's
// tiers jump from 32 KiB to 1 MiB and it zeroes the whole capacity of a
// buffer it hands out again, so every message of 40 KiB (a page of search
// results) cost a 1 MiB clear at each hop; with a tier per power of two a
// buffer is at most twice its message. Call it before any gRPC client or
// server exists (the setting is not safe to change later); process.Main does.
func UseTieredBufferPool() error {
	pool, err := mem.NewBinaryTieredBufferPool(8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22)
	if err != nil {
		return fmt.Errorf("grpc buffer pool: %w", err)
	}
	experimental.SetDefaultBufferPool(pool)
	return nil
}
