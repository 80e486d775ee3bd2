#!/usr/bin/env bash
# Horizontal replicas on loopback: N search services and N gateways behind
# nginx (least_conn), on top of the suite that `make run` started (whose
# cache, dbrouter, account and enhance services and databases they share).
#
#   deploy/local/scale.sh start N   start N (default 2) replicas and nginx
#   deploy/local/scale.sh stop      stop them (make run's suite keeps running)
#   deploy/local/scale.sh status    what runs, and the URL
#
# Replica i (1..N): search gRPC on 50060+i (admin 9160+i), gateway REST on
# 3000+i (admin 9100+i); every gateway dials all search replicas as one
# comma-separated ALTUS_SEARCH_ADDR (round-robin, read-only calls retried
# on another replica when one fails with UNAVAILABLE). nginx listens on
# ALTUS_SCALE_PORT (8080), config from deploy/local/nginx-scale.conf.tmpl,
# everything under .run/scale/ (pids <name>.pid, logs <name>.log).
# The base ports move with ALTUS_SCALE_SEARCH_BASE (50060),
# ALTUS_SCALE_GATEWAY_BASE (3000), ALTUS_SCALE_ADMIN_BASE (9100; search
# admin ports are 60 above). nginx is installed (Debian package) when
# missing: deps.sh with ALTUS_DEPS_NGINX=1.
set -euo pipefail
# shellcheck source=deploy/local/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

SCALE_DIR=$RUN_DIR/scale
NGINX_PORT=${ALTUS_SCALE_PORT:-8080}
SEARCH_BASE=${ALTUS_SCALE_SEARCH_BASE:-50060}
GATEWAY_BASE=${ALTUS_SCALE_GATEWAY_BASE:-3000}
ADMIN_BASE=${ALTUS_SCALE_ADMIN_BASE:-9100}
WAIT=${ALTUS_RUN_WAIT:-60}
NGINX=${NGINX:-/usr/sbin/nginx}

stop_all() {
	local f pid name
	for f in "$SCALE_DIR"/*.pid; do
		[ -e "$f" ] || continue
		name=$(basename "$f" .pid)
		pid=$(cat "$f" 2>/dev/null || true)
		if [ "$name" = nginx-worker ]; then
			rm -f "$f"
			continue
		fi
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			if [ "$name" = nginx ]; then
				kill -QUIT "$pid" 2>/dev/null || true
			else
				kill -TERM "$pid" 2>/dev/null || true
			fi
			for ((i = 0; i < 40; i++)); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.25
			done
			kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
			say "stopped $name (pid $pid)"
		fi
		rm -f "$f"
	done
}

wait_ready() { # name pid port path
	local i
	for ((i = 0; i < WAIT * 4; i++)); do
		kill -0 "$2" 2>/dev/null || {
			tail -n 30 "$SCALE_DIR/$1.log" >&2 || true
			die "$1 exited at start (log above)"
		}
		if http_ok 127.0.0.1 "$3" "$4"; then return 0; fi
		sleep 0.25
	done
	tail -n 30 "$SCALE_DIR/$1.log" >&2 || true
	die "$1 was not ready within ${WAIT}s (:$3$4)"
}

start_all() {
	local n=$1 i
	[[ $n =~ ^[1-9][0-9]?$ ]] || die "start N: N must be 1..99, got '$n'"
	http_ok 127.0.0.1 "${ADMIN_PORT[cache]}" /metrics && http_ok 127.0.0.1 "${ADMIN_PORT[account]}" /metrics ||
		die "the shared services of make run (cache, dbrouter, account, enhance) are not running: make run first"
	ALTUS_DEPS_NGINX=1 "$ROOT/deploy/local/deps.sh"
	[ -x "$NGINX" ] || NGINX=$(command -v nginx) || die "nginx not found after deps.sh"

	stop_all
	mkdir -p "$SCALE_DIR" "$BIN_DIR"
	go build -o "$BIN_DIR/" ./gateway ./services/search

	export DB_HOST=${DB_HOST:-127.0.0.1} DB_PORT=${DB_PORT:-3306} DB_USERNAME=${DB_USERNAME:-root}
	export DB_PASSWORD=${DB_PASSWORD:-} DB_DATABASE=${DB_DATABASE:-altus4}
	export REDIS_HOST=${REDIS_HOST:-127.0.0.1} REDIS_PORT=${REDIS_PORT:-6379} REDIS_PASSWORD=${REDIS_PASSWORD:-}
	local secrets=$RUN_DIR/secrets.env
	[ -s "$secrets" ] || die "no ${secrets#"$ROOT"/}: make run creates it"
	local jwt enc
	jwt=${JWT_SECRET:-$(sed -n 's/^JWT_SECRET=//p' "$secrets" | tail -n 1)}
	enc=${ENCRYPTION_KEY:-$(sed -n 's/^ENCRYPTION_KEY=//p' "$secrets" | tail -n 1)}

	local search_addrs=() servers=""
	for ((i = 1; i <= n; i++)); do search_addrs+=("127.0.0.1:$((SEARCH_BASE + i))"); done
	local search_list
	search_list=$(
		IFS=,
		echo "${search_addrs[*]}"
	)
	local common=(
		"ALTUS_ENV=${ALTUS_ENV:-production}" "JWT_SECRET=$jwt" "ENCRYPTION_KEY=$enc"
		"ALTUS_CACHE_ADDR=127.0.0.1:${GRPC_PORT[cache]}"
		"ALTUS_ENHANCE_ADDR=127.0.0.1:${GRPC_PORT[enhance]}"
		"ALTUS_DBROUTER_ADDR=127.0.0.1:${GRPC_PORT[dbrouter]}"
		"ALTUS_ACCOUNT_ADDR=127.0.0.1:${GRPC_PORT[account]}"
		"ALTUS_SEARCH_ADDR=$search_list"
	)
	local name pid
	for ((i = 1; i <= n; i++)); do
		name=search-$i
		nohup env "${common[@]}" "ALTUS_GRPC_PORT=$((SEARCH_BASE + i))" "ALTUS_ADMIN_PORT=$((ADMIN_BASE + 60 + i))" \
			"$BIN_DIR/search" >"$SCALE_DIR/$name.log" 2>&1 </dev/null &
		pid=$!
		echo "$pid" >"$SCALE_DIR/$name.pid"
		wait_ready "$name" "$pid" $((ADMIN_BASE + 60 + i)) /metrics
		say "started $name (pid $pid, gRPC :$((SEARCH_BASE + i)))"
	done
	for ((i = 1; i <= n; i++)); do
		name=gateway-$i
		nohup env "${common[@]}" "PORT=$((GATEWAY_BASE + i))" "ALTUS_ADMIN_PORT=$((ADMIN_BASE + i))" \
			"$BIN_DIR/gateway" >"$SCALE_DIR/$name.log" 2>&1 </dev/null &
		pid=$!
		echo "$pid" >"$SCALE_DIR/$name.pid"
		wait_ready "$name" "$pid" $((GATEWAY_BASE + i)) /health
		say "started $name (pid $pid, http :$((GATEWAY_BASE + i)))"
		servers+="        server 127.0.0.1:$((GATEWAY_BASE + i)) max_fails=3 fail_timeout=30s;"$'\n'
	done

	local user=""
	[ "$(id -u)" -ne 0 ] || user="user root;"
	sed -e "s|@DIR@|$SCALE_DIR|g" -e "s|@PORT@|$NGINX_PORT|g" -e "s|@USER@|$user|" \
		"$ROOT/deploy/local/nginx-scale.conf.tmpl" | awk -v servers="$servers" '{ if ($0 == "@SERVERS@") printf "%s", servers; else print }' \
		>"$SCALE_DIR/nginx.conf"
	"$NGINX" -t -q -p "$SCALE_DIR" -c "$SCALE_DIR/nginx.conf" -e "$SCALE_DIR/nginx-error.log" ||
		die "nginx rejected ${SCALE_DIR#"$ROOT"/}/nginx.conf"
	"$NGINX" -p "$SCALE_DIR" -c "$SCALE_DIR/nginx.conf" -e "$SCALE_DIR/nginx-error.log"
	for ((i = 0; i < WAIT * 4; i++)); do
		[ -s "$SCALE_DIR/nginx.pid" ] && http_ok 127.0.0.1 "$NGINX_PORT" /health && break
		sleep 0.25
	done
	http_ok 127.0.0.1 "$NGINX_PORT" /health || die "nginx is not answering on :$NGINX_PORT (${SCALE_DIR#"$ROOT"/}/nginx-error.log)"
	# The worker does the proxying (the master only supervises): its pid too,
	# for the load tool's CPU and memory readings.
	pgrep -P "$(cat "$SCALE_DIR/nginx.pid")" | head -n 1 >"$SCALE_DIR/nginx-worker.pid" || rm -f "$SCALE_DIR/nginx-worker.pid"
	say "started nginx (pid $(cat "$SCALE_DIR/nginx.pid"), http://127.0.0.1:$NGINX_PORT -> $n gateway(s) -> $n search replica(s))"
}

case "${1:-}" in
start) start_all "${2:-2}" ;;
stop) stop_all ;;
status)
	for f in "$SCALE_DIR"/*.pid; do
		[ -e "$f" ] || continue
		pid=$(cat "$f")
		if kill -0 "$pid" 2>/dev/null; then state=running; else state=gone; fi
		echo "$(basename "$f" .pid) pid $pid $state"
	done
	http_ok 127.0.0.1 "$NGINX_PORT" /health && echo "http://127.0.0.1:$NGINX_PORT answers /health" || true
	;;
*) die "usage: $0 start [N] | stop | status" ;;
esac
