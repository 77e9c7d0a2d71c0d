#!/usr/bin/env bash
# A throwaway PostgreSQL for the OMOP tests: Debian's postgresql package (installed when absent),
# a cluster in a temporary data directory, on a free local port, run as the unprivileged user
# 'postgres'. Source it: it exports MMRWE_TEST_POSTGRES_URL and defines mmrwe_postgres_stop
# (.ci/run calls it from its exit trap).
set -euo pipefail
as_root=""
[ "$(id -u)" -eq 0 ] || as_root="sudo"
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  $as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq postgresql >/dev/null
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
fi
pg_user="postgres"
id "$pg_user" >/dev/null 2>&1 || $as_root useradd --system --no-create-home "$pg_user"
pg_dir="$(mktemp -d /tmp/mmrwe-pg.XXXXXX)"
chown "$pg_user" "$pg_dir" 2>/dev/null || $as_root chown "$pg_user" "$pg_dir"
pg_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
pg_run() { if [ "$(id -un)" = "$pg_user" ]; then "$@"; else $as_root runuser -u "$pg_user" -- "$@"; fi; }
pg_run "$pg_bin/initdb" -D "$pg_dir/data" -U mmrwe --auth=trust -E UTF8 >/dev/null
pg_run "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
  -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1" start >/dev/null
export MMRWE_TEST_POSTGRES_URL="omop+postgresql://mmrwe@127.0.0.1:$pg_port/postgres"
export MMRWE_PG_DIR="$pg_dir" MMRWE_PG_BIN="$pg_bin"
mmrwe_postgres_stop() {
  pg_run "$MMRWE_PG_BIN/pg_ctl" -D "$MMRWE_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$MMRWE_PG_DIR"
}
