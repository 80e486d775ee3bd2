// Command cache serves altus.cache.v1.CacheService: cached values and the
// rate-limit counters of the suite, over Redis. While Redis cannot be
// reached it keeps serving, answers UNAVAILABLE / REDIS_UNAVAILABLE at
// once, and reports the outage as the health status of service "redis".
package main

import (
	"context"

	"github.com/altus4/altus/pkg/process"
	"github.com/altus4/altus/services/cache/app"
)

func main() { process.Main("cache", run) }

func run(ctx context.Context, args []string) error { return app.Run(ctx, args, process.Env{}) }
