#!/usr/bin/env bash
# taxii-bench against a private PostgreSQL cluster sized the way a production hub's is:
# shared_buffers at a quarter of the machine's memory (PostgreSQL's own guidance), so a
# 1,000,000-object collection (about 1 GB of STIX) stays in the buffer pool. Debian's
# shared cluster keeps the stock 128 MB, where walking the whole collection reads most
# pages from the operating system's cache instead (ops/bench/RESULTS.md has both).
# The cluster lives in a temporary folder, on its own port, and is stopped and removed
# at the end; the machine's shared PostgreSQL is never touched.
#   ops/bench/taxii-tuned-pg.sh [taxii-bench options, e.g. --count 1000000]
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/renkei-target}"
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
port="${PGBENCH_PORT:-5499}"
mem_kib="$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
buffers_mib="$((mem_kib / 4 / 1024))"
dir="$(mktemp -d /var/tmp/renkei-taxii-pg.XXXXXX)"
chown postgres "$dir" 2>/dev/null || true
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -c "$*"; else bash -c "$*"; fi; }
cleanup() { as_pg "$bin/pg_ctl -D $dir/data -m fast stop" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
as_pg "$bin/initdb -D $dir/data -A trust -U postgres" >/dev/null
cat >>"$dir/data/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
shared_buffers = ${buffers_mib}MB
CONF
as_pg "$bin/pg_ctl -D $dir/data -l $dir/log -w start" >/dev/null
echo "taxii-tuned-pg: PostgreSQL on 127.0.0.1:$port, shared_buffers ${buffers_mib} MB"
cargo build --release -q -p renkei-hub -p renkei-bench
"$CARGO_TARGET_DIR/release/taxii-bench" --pg-base "postgres://postgres@127.0.0.1:$port" "$@"
