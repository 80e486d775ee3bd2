#!/usr/bin/env bash
# Makes sure MariaDB and Redis answer at the configured addresses, so that
# `make run` and `make test` work on a fresh Debian machine:
#
#   - installs mariadb-server / redis-server (Debian packages) when a local
#     server is missing, and the clients when the server is remote;
#   - starts a local server that is not answering, without systemd (so it
#     also works in containers);
#   - waits (bounded) until both answer, and fails with a clear message;
#   - lets root log in over TCP with an empty password when that is the
#     configured account (Debian's root uses unix_socket auth by default).
#
# Running servers are used as they are. Idempotent; prints nothing when
# everything is already up.
#
# With ALTUS_DEPS_NGINX=1 (deploy/local/scale.sh, make bench-scale, the
# gateway e2e scale test through make test) it also installs nginx (the Debian
# package) when missing; make run does not need it.
#
# Environment: DB_HOST (127.0.0.1), DB_PORT (3306), DB_USERNAME (root),
# DB_PASSWORD (empty), REDIS_HOST (127.0.0.1), REDIS_PORT (6379),
# REDIS_PASSWORD (empty), ALTUS_DEPS_WAIT (seconds to wait, 60).
set -euo pipefail

DB_HOST=${DB_HOST:-127.0.0.1}
DB_PORT=${DB_PORT:-3306}
DB_USERNAME=${DB_USERNAME:-root}
DB_PASSWORD=${DB_PASSWORD:-}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}
REDIS_PASSWORD=${REDIS_PASSWORD:-}
WAIT=${ALTUS_DEPS_WAIT:-60}

MARIADBD=/usr/sbin/mariadbd

say() { echo "deps: $*" >&2; }
die() {
	echo "deps: $*" >&2
	exit 1
}

# as_root runs a command as root: directly when we are root, else with sudo.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root to run '$*' and sudo is not installed; run this script as root"
	fi
}

is_local() {
	case "$1" in
	127.0.0.1 | localhost | ::1 | "[::1]") return 0 ;;
	*) return 1 ;;
	esac
}

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

# --- what answers now -------------------------------------------------------

db_answers() {
	have mariadb-admin || return 1
	# ping exits 0 whenever the server replies, even to a refused login.
	MYSQL_PWD="$DB_PASSWORD" mariadb-admin --host="$DB_HOST" --port="$DB_PORT" --user="$DB_USERNAME" \
		--connect-timeout=2 --protocol=TCP ping >/dev/null 2>&1
}

redis_answers() {
	have redis-cli || return 1
	local out
	out=$(REDISCLI_AUTH="$REDIS_PASSWORD" timeout 3 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null) || return 1
	[ "$out" = PONG ]
}

# --- install what is missing ------------------------------------------------

packages=()
if is_local "$DB_HOST"; then
	{ have mariadb && have mariadb-admin && [ -x "$MARIADBD" ]; } || packages+=(mariadb-server mariadb-client)
else
	{ have mariadb && have mariadb-admin; } || packages+=(mariadb-client)
fi
if is_local "$REDIS_HOST"; then
	{ have redis-server && have redis-cli; } || packages+=(redis-server redis-tools)
else
	have redis-cli || packages+=(redis-tools)
fi

if [ "${ALTUS_DEPS_NGINX:-0}" = 1 ]; then
	have nginx || packages+=(nginx)
fi

if [ ${#packages[@]} -gt 0 ]; then
	have apt-get || die "missing ${packages[*]} and this is not a Debian/Ubuntu machine (no apt-get): install MariaDB and Redis, then run this again"
	say "installing ${packages[*]} (Debian packages)"
	export DEBIAN_FRONTEND=noninteractive
	# Update the package lists only when the install cannot find a package.
	if ! as_root apt-get install -y -q "${packages[@]}" >/tmp/altus-deps-apt.log 2>&1; then
		as_root apt-get update -q >>/tmp/altus-deps-apt.log 2>&1 || { cat /tmp/altus-deps-apt.log >&2; die "apt-get update failed"; }
		as_root apt-get install -y -q "${packages[@]}" >>/tmp/altus-deps-apt.log 2>&1 ||
			{ tail -n 30 /tmp/altus-deps-apt.log >&2; die "apt-get install ${packages[*]} failed (log above)"; }
	fi
fi

# --- start what is not answering --------------------------------------------

started_db=false
if ! db_answers; then
	is_local "$DB_HOST" || die "MariaDB/MySQL is not answering at $DB_HOST:$DB_PORT; start it or point DB_HOST/DB_PORT at a running server"
	say "starting MariaDB ($MARIADBD, port $DB_PORT)"
	as_root mkdir -p /run/mysqld /var/log/mysql
	as_root chown mysql:mysql /run/mysqld /var/log/mysql
	# Debian's configuration leaves the user to systemd: name it, or mariadbd
	# refuses to run as root.
	args=(--user=mysql --log-error=/var/log/mysql/error.log)
	[ "$DB_PORT" = 3306 ] || args+=(--port="$DB_PORT")
	as_root start-stop-daemon --start --oknodo --background --exec "$MARIADBD" -- "${args[@]}" >/dev/null
	started_db=true
fi

started_redis=false
if ! redis_answers; then
	is_local "$REDIS_HOST" || die "Redis is not answering at $REDIS_HOST:$REDIS_PORT; start it or point REDIS_HOST/REDIS_PORT at a running server"
	say "starting Redis (port $REDIS_PORT, no persistence)"
	args=(--daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no)
	if [ -d /var/lib/redis ]; then args+=(--dir /var/lib/redis); else args+=(--dir /tmp); fi
	if [ -d /var/log/redis ]; then args+=(--logfile "/var/log/redis/redis-server-$REDIS_PORT.log"); fi
	[ -z "$REDIS_PASSWORD" ] || args+=(--requirepass "$REDIS_PASSWORD")
	as_root redis-server "${args[@]}" >/dev/null
	started_redis=true
fi

# --- wait until both answer -------------------------------------------------

wait_for() { # check-function
	local check=$1 i
	for ((i = 0; i < WAIT; i++)); do
		if "$check"; then return 0; fi
		sleep 1
	done
	return 1
}
if $started_db; then
	wait_for db_answers || die "MariaDB did not answer at $DB_HOST:$DB_PORT within ${WAIT}s; look at /var/log/mysql/error.log"
fi
if $started_redis; then
	wait_for redis_answers || die "Redis did not answer at $REDIS_HOST:$REDIS_PORT within ${WAIT}s; look at /var/log/redis/"
fi

# --- make sure the configured account can log in over TCP --------------------

db_login() {
	MYSQL_PWD="$DB_PASSWORD" mariadb --host="$DB_HOST" --port="$DB_PORT" --user="$DB_USERNAME" \
		--connect-timeout=5 --protocol=TCP --batch --skip-column-names -e 'SELECT 1' >/dev/null 2>&1
}

if ! db_login; then
	if [ "$DB_USERNAME" = root ] && [ -z "$DB_PASSWORD" ] && is_local "$DB_HOST"; then
		# Debian's root logs in through the unix socket only; let it log in over
		# TCP with an empty password as well (a development machine's database).
		say "MariaDB refused root over TCP: allowing root@localhost an empty password (or unix_socket)"
		as_root mariadb --protocol=SOCKET --user=root -e \
			"ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket; FLUSH PRIVILEGES;" ||
			die "could not change root's authentication through the socket; log in as root and allow a TCP login for $DB_USERNAME"
		db_login || die "root still cannot log in over TCP at $DB_HOST:$DB_PORT after allowing an empty password"
	else
		die "cannot log in to MariaDB at $DB_HOST:$DB_PORT as '$DB_USERNAME' with the given DB_PASSWORD; check DB_USERNAME/DB_PASSWORD"
	fi
fi
