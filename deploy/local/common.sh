# shellcheck shell=bash disable=SC2034 # the variables are used by the scripts that source this file
# Shared by run.sh and stop.sh (sourced, not run): where things live, the
# services in start order, their ports, and small helpers.
#
# Every port can be overridden from the environment:
#   PORT                       gateway REST API            (3000)
#   ALTUS_<SVC>_PORT           gRPC of SEARCH 50051, CACHE 50052, ENHANCE 50053,
#                              DBROUTER 50054, ACCOUNT 50055
#   ALTUS_<SVC>_ADMIN_PORT     /metrics of GATEWAY 9090, SEARCH 9091, CACHE 9092,
#                              ENHANCE 9093, DBROUTER 9094, ACCOUNT 9095
# ALTUS_RUN_DIR (.run) holds logs, pid files and the development secrets;
# ALTUS_BIN_DIR (bin) the binaries.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN_DIR=${ALTUS_RUN_DIR:-$ROOT/.run}
BIN_DIR=${ALTUS_BIN_DIR:-$ROOT/bin}

# Start order: what others call first, the gateway last.
ALL_SERVICES=(cache dbrouter account enhance search gateway)

declare -A GRPC_PORT=(
	[search]=${ALTUS_SEARCH_PORT:-50051}
	[cache]=${ALTUS_CACHE_PORT:-50052}
	[enhance]=${ALTUS_ENHANCE_PORT:-50053}
	[dbrouter]=${ALTUS_DBROUTER_PORT:-50054}
	[account]=${ALTUS_ACCOUNT_PORT:-50055}
)
GATEWAY_PORT=${PORT:-3000}
declare -A ADMIN_PORT=(
	[gateway]=${ALTUS_GATEWAY_ADMIN_PORT:-9090}
	[search]=${ALTUS_SEARCH_ADMIN_PORT:-9091}
	[cache]=${ALTUS_CACHE_ADMIN_PORT:-9092}
	[enhance]=${ALTUS_ENHANCE_ADMIN_PORT:-9093}
	[dbrouter]=${ALTUS_DBROUTER_ADMIN_PORT:-9094}
	[account]=${ALTUS_ACCOUNT_ADMIN_PORT:-9095}
)

say() { echo "$*"; }
die() {
	echo "error: $*" >&2
	exit 1
}

# package_of prints the Go package that builds a service's binary.
package_of() {
	if [ "$1" = gateway ]; then echo ./gateway; else echo "./services/$1"; fi
}

# ours reports whether pid is alive and runs this checkout's binary of svc
# (a stale pid file may name a pid since reused by something else).
ours() { # pid svc
	local pid=$1 svc=$2 exe
	kill -0 "$pid" 2>/dev/null || return 1
	if exe=$(readlink "/proc/$pid/exe" 2>/dev/null); then
		# "(deleted)" when the binary was rebuilt while it ran.
		[ "$exe" = "$BIN_DIR/$svc" ] || [ "$exe" = "$BIN_DIR/$svc (deleted)" ]
	else
		[ "$(ps -p "$pid" -o comm= 2>/dev/null)" = "$svc" ]
	fi
}

# http_ok reports whether GET http://host:port/path answers 200 within 2s.
http_ok() { # host port path
	if command -v curl >/dev/null 2>&1; then
		curl -fs -o /dev/null --max-time 2 "http://$1:$2$3"
		return
	fi
	local line
	{ exec 3<>"/dev/tcp/$1/$2"; } 2>/dev/null || return 1
	printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$3" "$1" >&3
	IFS= read -r -t 2 line <&3 || line=
	exec 3>&-
	[[ $line == HTTP/*" 200"* ]]
}

# random_hex prints n random bytes as 2n hex characters.
random_hex() { # n
	openssl rand -hex "$1" 2>/dev/null || od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'
}

# secret prints a development secret from RUN_DIR/secrets.env, generating
# it there (mode 600) the first time it is asked for.
secret() { # name
	local file=$RUN_DIR/secrets.env v
	v=$(sed -n "s/^$1=//p" "$file" 2>/dev/null | tail -n 1)
	if [ -z "$v" ]; then
		v=$(random_hex 16)
		mkdir -p "$RUN_DIR"
		(
			umask 077
			printf '%s=%s\n' "$1" "$v" >>"$file"
		)
	fi
	printf '%s' "$v"
}

# provision_bench checks that the suite answers at $URL with its demo data,
# builds the load tool, and provisions bench@altus.local (admin role,
# ALTUS_BENCH_KEYS enterprise API keys, 16 by default) into RUN_DIR/bench.env;
# with "quiet" the provisioning's own report is not shown.
provision_bench() { # label [quiet]
	http_ok 127.0.0.1 "$GATEWAY_PORT" /health ||
		die "the suite is not answering at $URL/health: start it with make run"
	[ -s "$RUN_DIR/demo.env" ] ||
		die "no demo data (${RUN_DIR#"$ROOT"/}/demo.env): make run builds it (unless ALTUS_DEMO=0); or run deploy/local/demo.sh"
	ALTUS_DEMO_DB_PASSWORD=$(secret ALTUS_DEMO_DB_PASSWORD)
	export ALTUS_DEMO_DB_PASSWORD
	mkdir -p "$BIN_DIR"
	go build -o "$BIN_DIR/" ./gateway/cmd/altus-demo ./gateway/cmd/altus-load
	say "$1: provisioning bench@altus.local (admin role, ${ALTUS_BENCH_KEYS:-16} enterprise API keys)"
	"$BIN_DIR/altus-demo" provision -url "$URL" -grpc "127.0.0.1:${GRPC_PORT[search]}" \
		-email bench@altus.local -password "$(secret ALTUS_BENCH_PASSWORD)" -name "Altus Bench" \
		-keys "${ALTUS_BENCH_KEYS:-16}" -key-name bench -tier enterprise -promote -out "$RUN_DIR/bench.env" |
		if [ "${2:-}" = quiet ]; then cat >/dev/null; else cat; fi
}
