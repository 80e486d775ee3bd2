#!/usr/bin/env bash
# `make stop`: stops what run.sh started (the pids in .run/*.pid), gateway
# first so that it stops taking requests, then the services together. Each
# gets SIGTERM (it drains and closes cleanly), then SIGKILL if it is still
# there after ALTUS_STOP_WAIT seconds (25). Pid files are removed. A pid
# file whose process is gone, or is no longer this checkout's binary, is
# just removed. Prints nothing when nothing runs.
set -euo pipefail
# shellcheck source=deploy/local/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

STOP_WAIT=${ALTUS_STOP_WAIT:-25}

# stop_group svc...: SIGTERM each, wait for all (bounded), SIGKILL the rest.
stop_group() {
	local svc pid pids=() names=() i
	for svc in "$@"; do
		local file=$RUN_DIR/$svc.pid
		[ -f "$file" ] || continue
		pid=$(cat "$file" 2>/dev/null || true)
		if [[ $pid =~ ^[0-9]+$ ]] && ours "$pid" "$svc"; then
			kill -TERM "$pid" 2>/dev/null || true
			pids+=("$pid")
			names+=("$svc")
		fi
	done
	[ ${#pids[@]} -gt 0 ] || return 0
	for ((i = 0; i < STOP_WAIT * 10; i++)); do
		local alive=false
		for pid in "${pids[@]}"; do
			if kill -0 "$pid" 2>/dev/null; then alive=true; fi
		done
		$alive || break
		sleep 0.1
	done
	for i in "${!pids[@]}"; do
		if kill -0 "${pids[$i]}" 2>/dev/null; then
			echo "${names[$i]} (pid ${pids[$i]}) did not stop within ${STOP_WAIT}s: killing it" >&2
			kill -KILL "${pids[$i]}" 2>/dev/null || true
		fi
	done
	say "stopped ${names[*]}"
}

[ -d "$RUN_DIR" ] || exit 0

# The gateway first, then every other service named by a pid file.
others=()
for file in "$RUN_DIR"/*.pid; do
	[ -e "$file" ] || continue
	svc=$(basename "$file" .pid)
	[ "$svc" = gateway ] || others+=("$svc")
done
stop_group gateway
[ ${#others[@]} -eq 0 ] || stop_group "${others[@]}"

rm -f "$RUN_DIR"/*.pid
