#!/usr/bin/env bash
# Builds the hub and the bench in release mode, runs the bench on PostgreSQL and on
# SQLite, and prints a summary table. Extra arguments go to every run, e.g.
#   ops/bench/run.sh --count 20000
# BACKENDS="sqlite" ops/bench/run.sh   runs one backend only.
# Each run's full report is kept in $BENCH_LOG_DIR (default: a new folder under /tmp).
set -uo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

# The commit measured (built once, here; "-dirty" if the work tree had changes).
rev="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
git diff --quiet HEAD -- 2>/dev/null || rev="$rev-dirty"
echo "=== building $rev; load average$(uptime | sed "s/.*load average//") ==="
cargo build --release -p renkei-hub -p renkei-bench || exit 1

bench="$CARGO_TARGET_DIR/release/renkei-bench"
hub="$CARGO_TARGET_DIR/release/renkei-hub"
logs="${BENCH_LOG_DIR:-$(mktemp -d /tmp/renkei-bench.XXXXXX)}"
mkdir -p "$logs"
status=0

for backend in ${BACKENDS:-postgres sqlite}; do
    echo "=== $backend ($(date -u +%FT%TZ)) ==="
    "$bench" --backend "$backend" --hub-bin "$hub" "$@" 2>&1 | tee "$logs/$backend.log"
    rc=${PIPESTATUS[0]}
    if [ "$rc" -ne 0 ]; then
        echo "!!! $backend run failed (exit $rc)"
        status=1
    fi
done

echo
echo "=== summary: commit $rev, $(nproc) CPUs, $(date -u +%FT%TZ), load average$(uptime | sed 's/.*load average//'); reports in $logs ==="
{
    printf 'backend\tcount\tstats\tshare/s\t>=20k\tbatch p50 ms\tbatch p99 ms\tfeed/s\t>=100k\tpage p50 ms\tpage p99 ms\tlookup p50 ms\tlookup p99 ms\t<=10ms\tlookup req/s\tlookup errors\thub peak MiB\tdb GiB\n'
    cat "$logs"/*.log | grep '^summary' | cut -f2-
} | column -t -s $'\t'
exit $status
