#!/usr/bin/env bash
# `make bench`: the load tool (gateway/cmd/altus-load) against the suite that
# `make run` started, with its demo data, in the default profile:
#
#   1 and 16 concurrent users, 20 s each (after a 2 s warm-up), the raw SQL
#   (sql), the search service over gRPC (grpc) and the gateway (rest):
#   uncached (every request says Cache-Control: no-cache; 50 queries in
#   turn), then cached (5 queries repeated);
#
# and prints the table, the ratios to the raw SQL and the suite's peak
# memory (VmRSS of every process in .run/*.pid), and writes everything to
# .run/bench-<UTC time>.json.
#
# The requests are made as bench@altus.local, a user of its own with the
# admin role (given by a direct UPDATE of the metadata database: a local,
# development-only step) so that it can hold enterprise-tier API keys;
# ALTUS_BENCH_KEYS of them (16) are used in turn, which leaves each run far
# below every key's hourly limit. Its password is generated once into
# .run/secrets.env; its keys and sources are in .run/bench.env.
#
# Arguments are passed to altus-load after the profile's, so they win:
#   make bench BENCH_ARGS="-c 4 -d 5s -targets rest"
# Run altus-load -h for every option.
set -euo pipefail
# shellcheck source=deploy/local/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

export DB_HOST=${DB_HOST:-127.0.0.1} DB_PORT=${DB_PORT:-3306} DB_USERNAME=${DB_USERNAME:-root}
export DB_PASSWORD=${DB_PASSWORD:-} DB_DATABASE=${DB_DATABASE:-altus4}
URL=http://127.0.0.1:$GATEWAY_PORT
provision_bench bench

report=$RUN_DIR/bench-$(date -u +%Y%m%dT%H%M%SZ).json
"$BIN_DIR/altus-load" -env-file "$RUN_DIR/bench.env" -run-dir "$RUN_DIR" \
	-targets rest,grpc,sql -c 1,16 -d 20s -rounds 4 -warmup 2s -cache uncached,cached -hot 5 \
	-json "$report" "$@"
