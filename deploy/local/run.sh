#!/usr/bin/env bash
# `make run`: starts the whole suite on this machine, in the background.
#
#   1. MariaDB and Redis: installed and started where missing (deps.sh);
#   2. every binary built into bin/;
#   3. development secrets generated once into .run/secrets.env and reused
#      (ENCRYPTION_KEY encrypts stored credentials: a new one would make
#      them unreadable); JWT_SECRET / ENCRYPTION_KEY in the environment win;
#   4. the metadata database created and each service's migrations applied;
#   5. cache, dbrouter, account, enhance, search, then the gateway started
#      (logs .run/<svc>.log, pids .run/<svc>.pid), each waited for;
#   6. the URL and a few curl calls printed;
#   7. the demo data (deploy/local/demo.sh): two databases built from Debian's
#      package descriptions and changelogs, registered for demo@altus.local,
#      with an API key and curl examples printed (.run/demo.env). ALTUS_DEMO=0
#      skips it; where it fails the suite keeps running and says so.
#
# A suite already started from this checkout is stopped first. Ports and
# folders: see common.sh. ALTUS_RUN_SERVICES limits what is started (a
# space-separated subset, in any order); ALTUS_RUN_WAIT bounds each wait in
# seconds (60). ALTUS_RUN_ONE=1 runs every service in one process instead
# (bin/altus, built from cmd/altus: log .run/altus.log, pid .run/altus.pid),
# on the same ports. The database settings are the v1 names (DB_HOST, DB_PORT,
# DB_USERNAME, DB_PASSWORD, DB_DATABASE, REDIS_HOST, REDIS_PORT,
# REDIS_PASSWORD).
set -euo pipefail
# shellcheck source=deploy/local/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

WAIT=${ALTUS_RUN_WAIT:-60}
export DB_HOST=${DB_HOST:-127.0.0.1} DB_PORT=${DB_PORT:-3306} DB_USERNAME=${DB_USERNAME:-root}
export DB_PASSWORD=${DB_PASSWORD:-} DB_DATABASE=${DB_DATABASE:-altus4}
export REDIS_HOST=${REDIS_HOST:-127.0.0.1} REDIS_PORT=${REDIS_PORT:-6379} REDIS_PASSWORD=${REDIS_PASSWORD:-}

# Services whose binary has a `migrate` command, in the order to migrate.
MIGRATING=(account dbrouter search)

services=()
for svc in "${ALL_SERVICES[@]}"; do
	if [ -z "${ALTUS_RUN_SERVICES:-}" ] || [[ " $ALTUS_RUN_SERVICES " == *" $svc "* ]]; then
		services+=("$svc")
	fi
done
[ ${#services[@]} -gt 0 ] || die "ALTUS_RUN_SERVICES names none of: ${ALL_SERVICES[*]}"
selected() { [[ " ${services[*]} " == *" $1 "* ]]; }

[[ $DB_DATABASE =~ ^[A-Za-z0-9_]+$ ]] || die "DB_DATABASE must be a plain name (letters, digits, _); got '$DB_DATABASE'"
command -v go >/dev/null 2>&1 || die "Go is needed to build the suite (https://go.dev/dl/)"

# --- 0. stop a running instance ----------------------------------------------
"$ROOT/deploy/local/stop.sh"

# --- 1. MariaDB and Redis ----------------------------------------------------
"$ROOT/deploy/local/deps.sh"

# --- 2. build ------------------------------------------------------------------
ONE=false
if [ "${ALTUS_RUN_ONE:-0}" = 1 ]; then
	ONE=true
	[ -z "${ALTUS_RUN_SERVICES:-}" ] || die "ALTUS_RUN_ONE=1 runs every service; leave ALTUS_RUN_SERVICES unset"
fi
mkdir -p "$BIN_DIR" "$RUN_DIR"
if $ONE; then
	say "building altus (every service in one process) into ${BIN_DIR#"$ROOT"/}/"
	go build -o "$BIN_DIR/" ./cmd/altus
else
	say "building ${services[*]} into ${BIN_DIR#"$ROOT"/}/"
	pkgs=()
	for svc in "${services[@]}"; do pkgs+=("$(package_of "$svc")"); done
	go build -o "$BIN_DIR/" "${pkgs[@]}"
fi

# --- 3. development secrets, once -----------------------------------------------
secrets=$RUN_DIR/secrets.env
random_hex() { # 32 random bytes as 64 hex characters
	openssl rand -hex 32 2>/dev/null || od -An -tx1 -N32 /dev/urandom | tr -d ' \n'
}
if [ ! -s "$secrets" ]; then
	old_umask=$(umask)
	umask 077
	{
		printf '# Development secrets of this checkout, made by deploy/local/run.sh. Keep them:\n'
		printf '# ENCRYPTION_KEY encrypts the stored database credentials.\n'
		printf 'JWT_SECRET=%s\nENCRYPTION_KEY=%s\n' "$(random_hex)" "$(random_hex)"
	} >"$secrets.tmp"
	umask "$old_umask"
	mv "$secrets.tmp" "$secrets"
	say "generated development secrets in ${secrets#"$ROOT"/}"
fi
file_secret() { sed -n "s/^$1=//p" "$secrets" | tail -n 1; }
JWT_SECRET=${JWT_SECRET:-$(file_secret JWT_SECRET)}
ENCRYPTION_KEY=${ENCRYPTION_KEY:-$(file_secret ENCRYPTION_KEY)}
if [ -z "$JWT_SECRET" ] || [ -z "$ENCRYPTION_KEY" ]; then
	die "$secrets lacks JWT_SECRET or ENCRYPTION_KEY; delete it to generate new ones"
fi

common_env=(
	"ALTUS_ENV=${ALTUS_ENV:-production}"
	"JWT_SECRET=$JWT_SECRET" "ENCRYPTION_KEY=$ENCRYPTION_KEY"
	"ALTUS_SEARCH_ADDR=127.0.0.1:${GRPC_PORT[search]}"
	"ALTUS_CACHE_ADDR=127.0.0.1:${GRPC_PORT[cache]}"
	"ALTUS_ENHANCE_ADDR=127.0.0.1:${GRPC_PORT[enhance]}"
	"ALTUS_DBROUTER_ADDR=127.0.0.1:${GRPC_PORT[dbrouter]}"
	"ALTUS_ACCOUNT_ADDR=127.0.0.1:${GRPC_PORT[account]}"
)
one_env() { # the environment of bin/altus, on top of the caller's: every port, per service
	local svc
	printf '%s\n' "${common_env[@]}" "PORT=$GATEWAY_PORT"
	for svc in "${ALL_SERVICES[@]}"; do
		echo "ALTUS_${svc^^}_ADMIN_PORT=${ADMIN_PORT[$svc]}"
		[ "$svc" = gateway ] || echo "ALTUS_${svc^^}_PORT=${GRPC_PORT[$svc]}"
	done
}
service_env() { # svc: the environment of one service, on top of the caller's
	local svc=$1
	printf '%s\n' "${common_env[@]}" "ALTUS_ADMIN_PORT=${ADMIN_PORT[$svc]}"
	if [ "$svc" = gateway ]; then
		echo "PORT=$GATEWAY_PORT"
	else
		echo "ALTUS_GRPC_PORT=${GRPC_PORT[$svc]}"
	fi
}

# --- 4. metadata database and migrations -------------------------------------------
MYSQL_PWD="$DB_PASSWORD" mariadb --host="$DB_HOST" --port="$DB_PORT" --user="$DB_USERNAME" --protocol=TCP \
	-e "CREATE DATABASE IF NOT EXISTS \`$DB_DATABASE\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci" ||
	die "could not create the database '$DB_DATABASE' on $DB_HOST:$DB_PORT"
if $ONE; then
	say "migrating account, dbrouter and search"
	mapfile -t envs < <(one_env)
	if ! out=$(env -u ALTUS_GRPC_PORT -u ALTUS_ADMIN_PORT "${envs[@]}" timeout 300 "$BIN_DIR/altus" migrate 2>&1); then
		echo "$out" | tail -n 40 >&2
		die "migrations failed (output above)"
	fi
	MIGRATING=()
fi
for svc in "${MIGRATING[@]}"; do
	selected "$svc" || continue
	if ! grep -qs "process.MigrateOnly(" "$ROOT/services/$svc"/*.go "$ROOT/services/$svc"/app/*.go; then
		say "skipping migrations of $svc: its binary has no migrate command"
		continue
	fi
	say "migrating $svc"
	mapfile -t envs < <(service_env "$svc")
	if ! out=$(env "${envs[@]}" timeout 300 "$BIN_DIR/$svc" migrate 2>&1); then
		echo "$out" | tail -n 40 >&2
		die "migrations of $svc failed (output above)"
	fi
done

# --- 5. start and wait -------------------------------------------------------------
started=()
fail() { # svc message
	local log=$RUN_DIR/$1.log
	echo "error: $2" >&2
	if [ -s "$log" ]; then
		echo "--- last lines of ${log#"$ROOT"/} ---" >&2
		tail -n 40 "$log" >&2
		echo "---" >&2
	fi
	[ ${#started[@]} -eq 0 ] || "$ROOT/deploy/local/stop.sh" >&2 || true
	exit 1
}

launch() { # name env-arguments...: start $BIN_DIR/<name> under env (log and pid in .run/); sets pid
	local log=$RUN_DIR/$1.log name=$1
	shift
	[ ! -f "$log" ] || mv -f "$log" "$log.prev"
	nohup env "$@" "$BIN_DIR/$name" >"$log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$RUN_DIR/$name.pid"
	started+=("$name")
}
wait_ready() { # proc svc: wait until svc, served by process proc ($pid), answers
	local proc=$1 svc=$2 port path what i
	if [ "$svc" = gateway ]; then
		port=$GATEWAY_PORT path=/health what="GET /health on :$GATEWAY_PORT"
	else
		port=${ADMIN_PORT[$svc]} path=/metrics what="the admin port of $svc :${ADMIN_PORT[$svc]}"
	fi
	for ((i = 0; i < WAIT * 4; i++)); do
		kill -0 "$pid" 2>/dev/null || fail "$proc" "$proc exited at start"
		http_ok 127.0.0.1 "$port" "$path" && return 0
		sleep 0.25
	done
	fail "$proc" "$proc was not ready within ${WAIT}s ($what)"
}

if $ONE; then
	mapfile -t envs < <(one_env)
	launch altus -u ALTUS_GRPC_PORT -u ALTUS_ADMIN_PORT "${envs[@]}"
	for svc in "${services[@]}"; do wait_ready altus "$svc"; done
	say "started altus: ${services[*]} in one process (pid $pid)"
else
	for svc in "${services[@]}"; do
		mapfile -t envs < <(service_env "$svc")
		launch "$svc" "${envs[@]}"
		wait_ready "$svc" "$svc"
		say "started $svc (pid $pid)"
	done
fi

# --- 6. how to call it -----------------------------------------------------------------
if ! selected gateway; then
	say "started ${services[*]}; logs in ${RUN_DIR#"$ROOT"/}/, stop with: make stop"
	exit 0
fi
url=http://127.0.0.1:$GATEWAY_PORT
cat <<EOF

Altus is running at $url  (gRPC: search :${GRPC_PORT[search]}, cache :${GRPC_PORT[cache]}, enhance :${GRPC_PORT[enhance]}, dbrouter :${GRPC_PORT[dbrouter]}, account :${GRPC_PORT[account]})
Logs and pids are in ${RUN_DIR#"$ROOT"/}/; stop everything with: make stop

Try it:
  curl -s $url/health

  # register (answers {user, token}), then log in
  curl -s -X POST $url/api/v1/auth/register -H 'Content-Type: application/json' \\
    -d '{"email":"ada@example.com","password":"analytical-engine","name":"Ada Lovelace"}'
  TOKEN=\$(curl -s -X POST $url/api/v1/auth/login -H 'Content-Type: application/json' \\
    -d '{"email":"ada@example.com","password":"analytical-engine"}' | sed -n 's/.*"token":"\\([^"]*\\)".*/\\1/p')

  # create an API key for the search routes (its secretKey is shown once)
  curl -s -X POST $url/api/v1/keys -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
    -d '{"name":"my first key","environment":"test","permissions":["search"]}'
EOF

# --- 7. demo data ------------------------------------------------------------------
if [ "${ALTUS_DEMO:-1}" != 0 ] && selected account && selected dbrouter; then
	echo
	if ! "$ROOT/deploy/local/demo.sh"; then
		echo "warning: the demo data could not be set up (output above); the suite runs without it." \
			"Retry with: deploy/local/demo.sh" >&2
	fi
fi
