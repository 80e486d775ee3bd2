package grpcapi

import (
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// RedisHealthService is the grpc.health.v1 service name whose status says
// whether Redis is reachable (SERVING) or the cache runs degraded
// (NOT_SERVING). The CacheService itself stays SERVING either way, so that
// callers keep getting prompt REDIS_UNAVAILABLE answers rather than none.
const RedisHealthService = "redis"

// RedisHealthReporter returns a function that publishes Redis's
// reachability on hs under RedisHealthService.
func RedisHealthReporter(hs *health.Server) func(up bool) {
	return func(up bool) {
		st := healthpb.HealthCheckResponse_NOT_SERVING
		if up {
			st = healthpb.HealthCheckResponse_SERVING
		}
		hs.SetServingStatus(RedisHealthService, st)
	}
}
