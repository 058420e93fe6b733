#!/usr/bin/env bash
# Property-based fuzzing of the GraphQL endpoint with schemathesis (PyPI), as a member.
#
# Builds (or reuses) a release renkei-hub, starts it on a fresh data folder with the
# embedded SQLite, makes a member organisation and an analyst token, seeds a few items
# the member can see (ops/schemathesis/seed.py, which also writes fuzz dictionaries of
# their ids), then lets schemathesis generate queries and mutations for every root field
# of schema/hub.graphql (federation fields included) with a bounded number of examples
# each. The checks (ops/schemathesis/hooks.py) fail on a 5xx, a GraphQL error coded
# INTERNAL or UNAVAILABLE, an error without a code or Japanese text, and an answer that
# does not conform to the schema; coded refusals (FORBIDDEN, NOT_FOUND, cost limits...)
# are the hub doing its job. The hub's log is searched for panics and internal errors,
# and its memory is sampled. Exits non-zero on any failure. Not run by CI.
#
# Environment (all optional):
#   RENKEI_VENV        Python virtual environment (default /var/tmp/renkei-venv)
#   CARGO_TARGET_DIR   where the release hub is built (default /var/tmp/renkei-target)
#   ST_NO_BUILD=1      use $CARGO_TARGET_DIR/release/renkei-hub as it is
#   ST_MAX_EXAMPLES    examples per operation and phase (default 100: about 5,800
#                      requests, two to four minutes on two cores)
#   ST_WORKERS         concurrent schemathesis workers (default 2)
#   ST_SEED            Hypothesis seed, to repeat a run
#   ST_PHASES          schemathesis phases (default fuzzing,stateful; examples and
#                      coverage do not apply to GraphQL)
#   ST_MODE            positive, negative or all (default all)
#   ST_TIMEOUT         seconds before the whole schemathesis run is stopped (default 900)
#   ST_RUN_DIR         where the data folder, hub log and reports go (default: new
#                      folder under /var/tmp)
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

SCHEMATHESIS_VERSION=4.32.5
venv="${RENKEI_VENV:-/var/tmp/renkei-venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/renkei-target}"
examples="${ST_MAX_EXAMPLES:-100}"
workers="${ST_WORKERS:-2}"
phases="${ST_PHASES:-fuzzing,stateful}"
mode="${ST_MODE:-all}"
st_timeout="${ST_TIMEOUT:-900}"
run_dir="${ST_RUN_DIR:-$(mktemp -d /var/tmp/renkei-schemathesis.XXXXXX)}"
case "$(realpath -m "$run_dir")" in "$repo" | "$repo"/*)
    echo "ST_RUN_DIR must be outside the repository" >&2
    exit 2
    ;;
esac
mkdir -p "$run_dir"

say() { echo "=== $* ==="; }

# --- schemathesis, pinned, in its own virtual environment -----------------------------
if [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
    say "installing schemathesis $SCHEMATHESIS_VERSION into $venv"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv" || exit 1
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" || exit 1
fi
"$venv/bin/schemathesis" --version

# --- the hub ---------------------------------------------------------------------------
if [ "${ST_NO_BUILD:-0}" != 1 ]; then
    say "building renkei-hub (release) in $CARGO_TARGET_DIR"
    cargo build --release --locked -q -p renkei-hub || exit 1
fi
hub="$CARGO_TARGET_DIR/release/renkei-hub"
[ -x "$hub" ] || { echo "no $hub" >&2; exit 1; }

data="$run_dir/data"
rm -rf "$data"
mkdir -p "$data"
port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"

org="$("$hub" --data-dir "$data" org add "Schemathesis Member" --sector energy)" || exit 1
other="$("$hub" --data-dir "$data" org add "Another Member" --sector energy)" || exit 1
token="$("$hub" --data-dir "$data" token issue --org "$org" --role analyst)" || exit 1
# A coordinator only registers a supplier and an offering while seeding; the run is the member's.
coordinator_org="$("$hub" --data-dir "$data" org add "Sector Coordinator" --sector energy --coordinator)" || exit 1
coordinator="$("$hub" --data-dir "$data" token issue --org "$coordinator_org" --role coordinator)" || exit 1

say "starting the hub on $base (data and log in $run_dir)"
RENKEI_LOG=info RENKEI_METRICS_LISTEN=127.0.0.1:0 RENKEI_REQUESTS_PER_MINUTE=1000000 \
    "$hub" --data-dir "$data" serve --listen "127.0.0.1:$port" >"$run_dir/hub.log" 2>&1 &
hub_pid=$!
sampler_pid=
cleanup() {
    [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null
    kill "$hub_pid" 2>/dev/null && wait "$hub_pid" 2>/dev/null
}
trap cleanup EXIT
for _ in $(seq 1 100); do
    curl -sf "$base/readyz" >/dev/null && break
    kill -0 "$hub_pid" 2>/dev/null || { cat "$run_dir/hub.log"; echo "the hub did not start" >&2; exit 1; }
    sleep 0.2
done
curl -sf "$base/readyz" >/dev/null || { echo "the hub is not ready" >&2; exit 1; }

# --- a little data the member can see, and fuzz dictionaries of its ids ---------------
say "seeding"
"$venv/bin/python" "$repo/ops/schemathesis/seed.py" "$base" "$token" "$coordinator" "$other" \
    "$run_dir/schemathesis.toml" || exit 1

# --- memory, sampled every second --------------------------------------------------------
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$hub_pid/status" 2>/dev/null; }
idle_kib="$(rss_kib)"
(while kill -0 "$hub_pid" 2>/dev/null; do rss_kib; sleep 1; done) >"$run_dir/rss.kib" &
sampler_pid=$!

# --- schemathesis --------------------------------------------------------------------------
# The schema is the checked-in SDL (hub/tests/sdl.rs keeps it equal to the hub's), not
# introspection: the standard introspection query schemathesis sends nests 15 levels and
# the hub refuses it (QUERY_TOO_DEEP, max_query_depth 12), as it does for any client.
cmd=(
    "$venv/bin/schemathesis" --config-file "$run_dir/schemathesis.toml" run "$repo/schema/hub.graphql" --url "$base/graphql"
    --header "Authorization: Bearer $token"
    --include-name-regex '.'
    --checks renkei_no_server_error,renkei_errors_coded,renkei_response_conforms,response_schema_conformance,negative_data_rejection
    --phases "$phases" --mode "$mode" --max-examples "$examples" --workers "$workers"
    --request-timeout 30 --suppress-health-check all --continue-on-failure
    --generation-database "$run_dir/examples"
    --report junit,vcr --report-dir "$run_dir/report"
    --no-color
)
[ -n "${ST_SEED:-}" ] && cmd+=(--seed "$ST_SEED")
say "schemathesis run (output also in $run_dir/schemathesis.log)"
printf '%q ' "${cmd[@]}" | sed "s/Bearer\\\\ rk_[A-Za-z0-9_-]*/Bearer\\\\ \$TOKEN/"
echo
started=$(date +%s)
(cd "$run_dir" && SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$repo/ops/schemathesis" \
    timeout "$st_timeout" "${cmd[@]}") 2>&1 | tee "$run_dir/schemathesis.log"
st_rc=${PIPESTATUS[0]}
elapsed=$(( $(date +%s) - started ))

# --- what the hub made of it ---------------------------------------------------------------
alive=yes
kill -0 "$hub_pid" 2>/dev/null || alive=no
healthy=no
curl -sf -m 5 "$base/healthz" >/dev/null && healthy=yes
kill "$sampler_pid" 2>/dev/null
sampler_pid=
peak_kib="$(sort -n "$run_dir/rss.kib" | tail -1)"
final_kib="$(rss_kib)"
hwm_kib="$(awk '/^VmHWM/ {print $2}' "/proc/$hub_pid/status" 2>/dev/null)"
panics="$(grep -c 'panicked' "$run_dir/hub.log")"
internal="$(grep -c 'internal error' "$run_dir/hub.log")"
requests="$(cat "$run_dir/report"/vcr-*.yaml 2>/dev/null | grep -c '^- id:')"

echo
say "summary"
echo "schemathesis $SCHEMATHESIS_VERSION, exit $st_rc$([ "$st_rc" = 124 ] && echo ' (stopped by the time limit)'), ${elapsed}s"
sed -n '/^API Operations:/,/^Seed:/p' "$run_dir/schemathesis.log" | grep -v '^ *- \(JUnit\|VCR\)\|^Reports:\|^$'
echo "requests recorded: ${requests}"
echo "hub alive: $alive, /healthz answers: $healthy"
echo "hub RSS: idle $(( ${idle_kib:-0} / 1024 )) MiB, peak sampled $(( ${peak_kib:-0} / 1024 )) MiB, high-water $(( ${hwm_kib:-0} / 1024 )) MiB, at the end $(( ${final_kib:-0} / 1024 )) MiB"
echo "hub log: $panics panic(s), $internal internal error(s) ($run_dir/hub.log)"
[ "$panics" != 0 ] && grep -m 5 -A 3 'panicked' "$run_dir/hub.log"
[ "$internal" != 0 ] && grep -m 5 'internal error' "$run_dir/hub.log"
echo "reports: $run_dir/report"

status=0
[ "$st_rc" != 0 ] && status=1
[ "$alive" = yes ] && [ "$healthy" = yes ] || status=1
[ "$panics" = 0 ] && [ "$internal" = 0 ] || status=1
[ "$status" = 0 ] && echo "RESULT: clean" || echo "RESULT: FAILED"
exit $status
