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
secrets=$RUN_DIR/secrets.env

http_ok 127.0.0.1 "$GATEWAY_PORT" /health ||
	die "the suite is not answering at $URL/health: start it with make run"
[ -s "$RUN_DIR/demo.env" ] ||
	die "no demo data (${RUN_DIR#"$ROOT"/}/demo.env): make run builds it (unless ALTUS_DEMO=0); or run deploy/local/demo.sh"

secret() { # name: its value in the secrets file, added there when missing
	local v
	v=$(sed -n "s/^$1=//p" "$secrets" 2>/dev/null | tail -n 1)
	if [ -z "$v" ]; then
		v=$(openssl rand -hex 16 2>/dev/null || od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
		(
			umask 077
			printf '%s=%s\n' "$1" "$v" >>"$secrets"
		)
	fi
	printf '%s' "$v"
}
ALTUS_DEMO_DB_PASSWORD=$(secret ALTUS_DEMO_DB_PASSWORD)
export ALTUS_DEMO_DB_PASSWORD

mkdir -p "$BIN_DIR"
go build -o "$BIN_DIR/" ./gateway/cmd/altus-demo ./gateway/cmd/altus-load

say "bench: provisioning bench@altus.local (admin role, ${ALTUS_BENCH_KEYS:-16} enterprise API keys)"
"$BIN_DIR/altus-demo" provision -url "$URL" -grpc "127.0.0.1:${GRPC_PORT[search]}" \
	-email bench@altus.local -password "$(secret ALTUS_BENCH_PASSWORD)" -name "Altus Bench" \
	-keys "${ALTUS_BENCH_KEYS:-16}" -key-name bench -tier enterprise -promote -out "$RUN_DIR/bench.env"

report=$RUN_DIR/bench-$(date -u +%Y%m%dT%H%M%SZ).json
"$BIN_DIR/altus-load" -env-file "$RUN_DIR/bench.env" -run-dir "$RUN_DIR" \
	-targets rest,grpc,sql -c 1,16 -d 20s -warmup 2s -cache uncached,cached -hot 5 \
	-json "$report" "$@"
