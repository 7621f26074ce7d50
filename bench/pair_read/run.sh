#!/usr/bin/env bash
# The pair read's cost on each side, in counts that a loaded machine does not move much
# (issue 11, BENCHMARKS.md 2026-12-04):
#
#   bench/pair_read/run.sh postgres://postgres@127.0.0.1:5432/postgres
#   BIN=/path/to/mentorat bench/pair_read/run.sh postgres://…   # another build
#
# 1. PostgreSQL: the read's statement before migration 000020 (before.sql, eight relations)
#    and after it (after.sql, three), each run alone by `pgbench -n -M prepared -c 1` for
#    $SECS s on the seeded database (transactions per second of one backend, and the
#    average latency), and `EXPLAIN (ANALYZE, BUFFERS)` of each, prepared, after six runs
#    (the generic plan, as the service's pooled connections use it).
# 2. The service: the release binary under `valgrind --tool=callgrind`; the counters are
#    zeroed after a warm-up, $N sequential `GET /api/v1/pairs/{id}` are sent (as a
#    coordinator, then as a member), and the instructions executed per request are the
#    counted total over N (every thread of the process: HTTP, JWT, JSON, sea-orm, sqlx,
#    tracing, metrics, the audit writer). The callgrind files are left in $OUT.
# 3. RSS: VmRSS of the binary (not under valgrind) after start, after $LOAD requests from 16
#    concurrent curl loops, and 5 s later.
#
# Bounded (timeouts on every tool), loopback only. Creates and drops its own database
# mentorat_pair_read (KEEP_DB=1 keeps it). Tools: psql, pgbench, valgrind, curl, python3.
set -euo pipefail
url="${1:?usage: bench/pair_read/run.sh postgres://user@127.0.0.1:5432/postgres}"
case "$url" in postgres://*@127.0.0.1[:/]* | postgres://*@localhost[:/]*) ;; *)
  echo "run.sh: the database must be on 127.0.0.1 or localhost" >&2; exit 2 ;; esac
here="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${BIN:-$here/target/release/mentorat}"
secs="${SECS:-10}"
n="${N:-200}"
load="${LOAD:-4000}"
port="${BENCH_PORT:-8093}"
out="${OUT:-$(mktemp -d /tmp/pair_read.XXXXXX)}"
db=mentorat_pair_read
base="${url%/*}"
log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2> /dev/null && wait "$server" 2> /dev/null || true
  [ "${KEEP_DB:-0}" = 1 ] || psql -XAtq "$url" -c "DROP DATABASE IF EXISTS $db" > /dev/null 2>&1 || true
}
trap cleanup EXIT
# The whole run is bounded (each tool is bounded too).
( sleep "${BENCH_TIMEOUT:-1500}"; kill -TERM $$ 2> /dev/null ) &
watchdog=$!
psql -XAtq "$url" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"

export MENTORAT_DATABASE_URL="$base/$db"
export MENTORAT_BIND="127.0.0.1:$port"
export MENTORAT_LOG=warn
export MENTORAT_RATE_LIMIT=0
export MENTORAT_JWT_SECRET="${MENTORAT_JWT_SECRET:-bench-secret-bench-secret-bench-secret}"
export MENTORAT_ENCRYPTION_KEY="${MENTORAT_ENCRYPTION_KEY:-YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmU=}"
api="http://127.0.0.1:$port"
start() { # start [wrapper…]: the server in the background, waits until it is ready
  "$@" "$bin" serve >> "$out/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 600); do
    curl -fsS "$api/readyz" > /dev/null 2>&1 && return 0
    kill -0 "$server" 2> /dev/null || break
    sleep 0.2
  done
  echo "run.sh: the server did not become ready; see $out/server.log" >&2
  exit 1
}
stop() { kill "$server" 2> /dev/null || true; wait "$server" 2> /dev/null || true; server=""; }
rss() { awk '$1 == "VmRSS:" {print $2}' "/proc/$server/status"; }

timeout 120 "$bin" migrate > "$out/migrate.txt" 2>&1
start
rss_start=$(rss)
log "seed through the API"
hris="$("$bin" token --sub HRIS --role hris)"
coordinator="$("$bin" token --sub C1 --role coordinator)"
timeout 300 python3 "$here/bench/load_seed.py" --url "$api" --hris "$hris" \
  --coordinator "$coordinator" --bin "$bin" > "$out/seed.txt"
read -r pair mentor < <(tail -1 "$out/seed.txt" | python3 -c \
  'import json,sys; d=json.load(sys.stdin); print(d["pair"], d["mentor"])')
member="$("$bin" token --sub "$mentor")"
psql -XAtq "$base/$db" -c "VACUUM ANALYZE"

# ---- 3. RSS around a load (the plain binary) ----------------------------------------------------
log "RSS: $load requests from 16 loops"
per=$((load / 16))
loops=()
for i in $(seq 1 16); do
  tok="$coordinator"; [ $((i % 2)) = 0 ] && tok="$member"
  ( for _ in $(seq 1 "$per"); do
      curl -fsS -o /dev/null -H "Authorization: Bearer $tok" "$api/api/v1/pairs/$pair" || exit 1
    done ) &
  loops+=($!)
done
rss_peak=0
for _ in $(seq 1 1200); do # at most 10 minutes
  running=0
  for j in "${loops[@]}"; do kill -0 "$j" 2> /dev/null && running=1; done
  r=$(rss); [ "$r" -gt "$rss_peak" ] && rss_peak=$r
  [ "$running" = 0 ] && break
  sleep 0.5
done
for j in "${loops[@]}"; do kill "$j" 2> /dev/null || true; wait "$j" 2> /dev/null || true; done
rss_after=$(rss)
sleep 5
rss_idle=$(rss)
stop

# ---- 1. PostgreSQL alone ------------------------------------------------------------------------
for which in before after; do
  log "pgbench $which.sql"
  timeout $((secs + 30)) pgbench -n -M prepared -c 1 -j 1 -T "$secs" -D pair="$pair" \
    -D ext="$mentor" -f "$here/bench/pair_read/$which.sql" "$base/$db" > "$out/pgbench_$which.txt" 2>&1
  sql="$(sed -e '/^--/d' -e "s/:pair/\$1/g" -e "s/:ext/\$2/g" -e 's/;$//' "$here/bench/pair_read/$which.sql")"
  {
    echo "PREPARE r(uuid, text) AS $sql;"
    for _ in 1 2 3 4 5 6; do echo "EXECUTE r('$pair', '$mentor');"; done
    echo "EXPLAIN (ANALYZE, BUFFERS) EXECUTE r('$pair', '$mentor');"
  } | psql -XAtq "$base/$db" > "$out/explain_$which.txt" 2>&1 || true
done

# ---- 2. the service under callgrind -------------------------------------------------------------
log "callgrind: $n reads as a coordinator, then as a member"
start valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.%p" \
  --dump-instr=no --collect-atstart=yes
cg() { timeout 60 callgrind_control "$@" "$server" > /dev/null 2>&1 || true; }
for who in coordinator member; do
  tok="$coordinator"; [ "$who" = member ] && tok="$member"
  for _ in $(seq 1 20); do curl -fsS -o /dev/null -H "Authorization: Bearer $tok" "$api/api/v1/pairs/$pair"; done
  sleep 1
  cg -z
  rm -f "$out"/callgrind.*.*
  for _ in $(seq 1 "$n"); do curl -fsS -o /dev/null -H "Authorization: Bearer $tok" "$api/api/v1/pairs/$pair"; done
  sleep 1
  mkdir -p "$out/$who"
  cg -d
  sleep 2
  for f in "$out"/callgrind.*; do [ -f "$f" ] && mv "$f" "$out/$who/"; done
  total=$(python3 - "$out/$who" << 'PY'
import glob, sys
total = 0
for path in glob.glob(sys.argv[1] + "/callgrind.*"):
    for line in open(path, errors="replace"):
        if line.startswith("summary:") or line.startswith("totals:"):
            total += int(line.split()[1]); break
print(total)
PY
)
  echo "callgrind $who: $total instructions over $n reads = $((total / n)) per read" | tee -a "$out/summary.txt"
done
stop

{
  for which in before after; do
    echo "pgbench $which: $(grep -E '^tps|latency average' "$out/pgbench_$which.txt" | tr '\n' ' ')"
    grep -E 'Execution Time|Planning Time|Buffers: shared hit' "$out/explain_$which.txt" | head -3 | sed "s/^/  $which: /"
  done
  echo "RSS KiB: after start $rss_start, peak $rss_peak, right after the load $rss_after, 5 s later $rss_idle"
} | tee -a "$out/summary.txt"
kill "$watchdog" 2> /dev/null || true
log "files in $out"
