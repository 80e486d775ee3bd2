#!/usr/bin/env bash
# `make bench-scale`: the scaling guide's load scenarios through nginx
# against 1 and then 2 replicas of the gateway and the search service
# (deploy/local/scale.sh), on top of the suite that `make run` started:
#
#   ramp, cache hits:   1,2,4,8,16,32 users, 8 s each (5 hot queries)
#   ramp, uncached:     1,4,16 users, 8 s each (Cache-Control: no-cache)
#   spike, cache hits:  4 users for 8 s, 32 for 5 s, 4 again for 10 s
#
# then a soak when ALTUS_SCALE_SOAK is a duration (e.g. 3m; 8 users,
# reported every 30 s) on the last replica count. Each run's JSON and table
# go to .run/bench-scale-<UTC time>/<scenario>-<n>.{json,txt}; a side-by-side
# comparison to compare.txt. The CPU of every process (the replicas, the
# shared services, nginx, MariaDB, Redis) is read from /proc per step.
#
# ALTUS_SCALE_REPLICAS lists the replica counts (default "1 2");
# ALTUS_SCALE_STEP the step length (8s). Keys: as make bench (16 enterprise
# keys of bench@altus.local, .run/bench.env).
set -euo pipefail
# shellcheck source=deploy/local/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

export DB_HOST=${DB_HOST:-127.0.0.1} DB_PORT=${DB_PORT:-3306} DB_USERNAME=${DB_USERNAME:-root}
export DB_PASSWORD=${DB_PASSWORD:-} DB_DATABASE=${DB_DATABASE:-altus4}
URL=http://127.0.0.1:$GATEWAY_PORT
LB=http://127.0.0.1:${ALTUS_SCALE_PORT:-8080}
STEP=${ALTUS_SCALE_STEP:-8s}
provision_bench bench-scale quiet

out=$RUN_DIR/bench-scale-$(date -u +%Y%m%dT%H%M%SZ)
ext=$out/procs # pid files of MariaDB and Redis, for their CPU
mkdir -p "$ext"
pid=$(pgrep -o -x mariadbd || true)
[ -z "$pid" ] || echo "$pid" >"$ext/mariadb.pid"
pid=$(pgrep -o -x redis-server || true)
[ -z "$pid" ] || echo "$pid" >"$ext/redis.pid"

trap '"$ROOT/deploy/local/scale.sh" stop >/dev/null 2>&1 || true' EXIT
load() { # name n args...
	local name=$1 n=$2
	shift 2
	"$BIN_DIR/altus-load" -env-file "$RUN_DIR/bench.env" -url "$LB" -targets rest \
		-run-dir "$RUN_DIR,$RUN_DIR/scale,$ext" -json "$out/$name-$n.json" "$@" | tee "$out/$name-$n.txt"
}
replicas=(${ALTUS_SCALE_REPLICAS:-1 2})
for n in "${replicas[@]}"; do
	"$ROOT/deploy/local/scale.sh" start "$n"
	load ramp-cached "$n" -scenario ramp -steps 1,2,4,8,16,32 -d "$STEP" -cache cached -hot 5
	load ramp-uncached "$n" -scenario ramp -steps 1,4,16 -d "$STEP" -cache uncached
	load spike-cached "$n" -scenario spike -c 4 -spike-factor 8 -spike-baseline 8s -spike-burst 5s -spike-recovery 10s -cache cached -hot 5
	if [ -n "${ALTUS_SCALE_SOAK:-}" ] && [ "$n" = "${replicas[-1]}" ]; then
		load soak-cached "$n" -scenario soak -c 8 -d "$ALTUS_SCALE_SOAK" -interval 30s -cache cached -hot 5
	fi
	"$ROOT/deploy/local/scale.sh" stop
done

{
	for s in ramp-cached ramp-uncached spike-cached; do
		args=()
		for n in "${replicas[@]}"; do args+=("${n}x=$out/$s-$n.json"); done
		echo "== $s (replicas of gateway+search behind nginx)"
		"$BIN_DIR/altus-load" compare "${args[@]}"
		echo
	done
} | tee "$out/compare.txt"
say "bench-scale: reports in ${out#"$ROOT"/}/"
