#!/usr/bin/env bash
# Where a hot read's CPU goes (issue 11): seeds the load benchmark's world (bench/load_seed.py),
# runs wrk on one route and records a system-wide `perf` profile meanwhile, then prints the
# heaviest symbols of the service and of PostgreSQL's backends, and the CPU each side spent per
# request. Loopback only, bounded (wrk and perf run for DURATION seconds).
#
#   bench/profile_read.sh postgres://postgres@127.0.0.1:5432/postgres [coordinator|member|list|me]
#
# BIN (target/release/mentorat), DURATION (10), BENCH_PORT (8093).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
base=${1:?usage: bench/profile_read.sh postgres://user@127.0.0.1:5432/db [route]}
base=${base%/*}; opts=${PG_OPTS:-}
what=${2:-coordinator}
bin=${BIN:-$here/target/release/mentorat}
secs=${DURATION:-10}
port=${BENCH_PORT:-8093}
db=mentorat_profile
work=$(mktemp -d)
server=""
cleanup() { [ -z "$server" ] || { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }; }
trap cleanup EXIT
psql -XAtq "$base/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
export MENTORAT_DATABASE_URL="$base/$db$opts" MENTORAT_BIND="127.0.0.1:$port" MENTORAT_LOG=warn MENTORAT_RATE_LIMIT=0
export MENTORAT_JWT_SECRET="${MENTORAT_JWT_SECRET:-bench-secret-bench-secret-bench-secret}"
export MENTORAT_ENCRYPTION_KEY="${MENTORAT_ENCRYPTION_KEY:-YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmU=}"
api="http://127.0.0.1:$port"
timeout 120 "$bin" migrate > "$work/migrate.txt" 2>&1
"$bin" serve > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fsS "$api/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
hris="$("$bin" token --sub HRIS --role hris)"
coordinator="$("$bin" token --sub C1 --role coordinator)"
timeout 180 python3 "$here/bench/load_seed.py" --url "$api" --hris "$hris" --coordinator "$coordinator" --bin "$bin" > "$work/seed.txt"
read -r pair mentor _ < <(tail -1 "$work/seed.txt" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["pair"], d["mentor"], d["mentee"])')
member="$("$bin" token --sub "$mentor")"
psql -XAtq "$base/$db" -c "VACUUM ANALYZE"
case "$what" in
  coordinator) path="/api/v1/pairs/$pair"; tok=$coordinator ;;
  member) path="/api/v1/pairs/$pair"; tok=$member ;;
  list) path="/api/v1/pairs"; tok=$member ;;
  me) path="/api/v1/me"; tok=$member ;;
  *) echo "unknown route $what" >&2; exit 2 ;;
esac
timeout 30 wrk -t2 -c16 -d3s -H "Authorization: Bearer $tok" "$api$path" > /dev/null # warm up
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
s0=$(ticks "$server")
timeout $((secs + 30)) wrk -t2 -c16 -d"${secs}s" --latency -H "Authorization: Bearer $tok" "$api$path" > "$work/wrk.txt" &
wrk_job=$!
sleep 1
perf record -a -F 499 -o "$work/perf.data" -- sleep $((secs - 2)) 2> /dev/null
wait "$wrk_job"
s1=$(ticks "$server")
grep -E "Requests/sec|Latency  " "$work/wrk.txt"
reqs=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
echo "service CPU per request: $(( (s1 - s0) * 10000 / reqs )) µs (over $reqs requests)"
for comm in mentorat postgres; do
  echo "== $comm: heaviest symbols (share of all samples)"
  perf report -i "$work/perf.data" --comm "$comm" --no-children --sort sym --stdio 2>/dev/null \
    | grep -v '^#' | grep -v '^$' | head -${TOP:-40}
done
echo "== share of samples by command"
perf report -i "$work/perf.data" --no-children --sort comm --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -8
cp "$work/perf.data" "${PERF_DATA:-/tmp/mentorat-profile.data}" 2>/dev/null || true
