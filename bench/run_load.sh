#!/usr/bin/env bash
# Load benchmark (issue 11): hot reads and writes of the release binary on PostgreSQL, beside
# the server's own ceiling (pgbench -S), in one run of about four minutes.
#
#   bench/run_load.sh postgres://postgres@127.0.0.1:5432/postgres
#   BIN=/path/to/other/mentorat bench/run_load.sh postgres://postgres@127.0.0.1:5432/postgres
#
# The URL names a PostgreSQL server on this machine (127.0.0.1 or localhost only) and a
# database to connect to for administration; the script creates and drops two databases of its
# own there: $APP_DB (mentorat_load) for the service and $PGBENCH_DB (mentorat_pgbench) for
# pgbench. Tools: psql, pgbench (apt-get install -y postgresql-client), wrk (apt-get install -y
# wrk), oha (cargo install oha --locked), python3, curl; BENCH_INSTALL=1 installs wrk and oha.
# Build first: cargo build --release -p mentorat. Figures go to BENCHMARKS.md by hand.
#
# Steps: pgbench -i -s 10 and pgbench -S -M prepared -c 16 -j 2 -T 15 (the ceiling); start the
# binary (MENTORAT_LOG=warn) and read its idle RSS; seed through the API (bench/load_seed.py);
# wrk -t2 -c16 on each hot route, sampling CPU of the service and of its PostgreSQL backends
# before and after each run; oha at a fixed total rate (1,000 req/s) of mixed requests for p99;
# RSS after the load; then statements per request, counted in the PostgreSQL log with
# log_statement = 'all' set on the bench database only (ALTER DATABASE, reset afterwards).
# Knobs: DURATION (15 s per wrk run), REF_DURATION (10 s for /healthz and /readyz),
# MIXED_DURATION (20 s), RATE (1000), BENCH_PORT (8091), PG_LOG (the server's log file),
# KEEP_DBS=1 (leave the databases), BENCH_TIMEOUT (600 s for the whole run).
set -euo pipefail
url="${1:?usage: bench/run_load.sh postgres://USER@127.0.0.1:5432/DBNAME}"
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${BIN:-$here/target/release/mentorat}"
port="${BENCH_PORT:-8091}"
secs="${DURATION:-15}"
ref_secs="${REF_DURATION:-10}"
mixed_secs="${MIXED_DURATION:-20}"
rate="${RATE:-1000}"
app_db="${APP_DB:-mentorat_load}"
pgb_db="${PGBENCH_DB:-mentorat_pgbench}"
# Both sides connect the same way: without TLS by default (loopback: TLS would only add the
# encryption of every message, paid by both processes); SSLMODE=prefer measures what libpq and
# sqlx do by default with a server that offers TLS (Debian's does).
sslmode="${SSLMODE:-disable}"
export PGSSLMODE="$sslmode"

case "$url" in postgres://*|postgresql://*) ;; *) echo "run_load.sh: a postgres:// URL, please" >&2; exit 2 ;; esac
rest="${url#*://}"
authority="${rest%%/*}"
hostport="${authority##*@}"
host="${hostport%%:*}"
case "$host" in 127.0.0.1|localhost) ;; *) echo "run_load.sh: targets 127.0.0.1 only (got $host)" >&2; exit 2 ;; esac
base="${url%%://*}://$authority"
admin="$url"
[ -x "$bin" ] || { echo "run_load.sh: no binary at $bin (cargo build --release -p mentorat, or BIN=path)" >&2; exit 2; }

missing=()
need() { command -v "$1" > /dev/null 2>&1 || missing+=("$1 ($2)"); }
if [ -n "${BENCH_INSTALL:-}" ]; then
  command -v wrk > /dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
  command -v oha > /dev/null || cargo install oha --locked
fi
export PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin"
need psql "apt-get install -y postgresql-client"
need pgbench "apt-get install -y postgresql-client"
need wrk "apt-get install -y wrk"
need oha "cargo install oha --locked"
need python3 "apt-get install -y python3"
need curl "apt-get install -y curl"
if [ ${#missing[@]} -gt 0 ]; then
  printf 'run_load.sh: missing %s\n' "${missing[@]}" >&2
  echo "(or run with BENCH_INSTALL=1 to install wrk and oha)" >&2
  exit 2
fi

work="$(mktemp -d /tmp/mentorat-load.XXXXXX)"
results="$work/results.tsv"
: > "$results"
cat /proc/loadavg > "$work/loadavg" # other work on the machine shows here
q() { psql -XAtq "$admin" -v ON_ERROR_STOP=1 "$@"; }
started_at=$(date +%s)
server=""
watchdog=""

stop_server() {
  if [ -n "$server" ]; then
    kill "$server" 2> /dev/null || true
    wait "$server" 2> /dev/null || true
    server=""
  fi
}
cleanup() {
  stop_server
  [ -z "$watchdog" ] || kill "$watchdog" 2> /dev/null || true
  q -c "ALTER DATABASE $app_db RESET log_statement" 2> /dev/null || true
  if [ -z "${KEEP_DBS:-}" ]; then
    q -c "DROP DATABASE IF EXISTS $app_db WITH (FORCE)" -c "DROP DATABASE IF EXISTS $pgb_db WITH (FORCE)" 2> /dev/null || true
  fi
}
trap cleanup EXIT
trap 'echo "run_load.sh: stopped" >&2; exit 130' INT TERM
# The whole run is bounded: past BENCH_TIMEOUT the script is stopped (each tool is bounded too).
( sleep "${BENCH_TIMEOUT:-600}"; echo "run_load.sh: over ${BENCH_TIMEOUT:-600} s, stopping" >&2; kill -TERM $$ ) 2> /dev/null &
watchdog=$!

log() { echo "[$(( $(date +%s) - started_at )) s] $*" >&2; }

# ---- CPU and counters -------------------------------------------------------------------------
ticks() { [ -r "/proc/$1/stat" ] && sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}' || echo 0; }
backend_ticks() { # "pid ticks" for every backend of database $1, read by one process (cheap under load)
  local p files=()
  for p in $(q -c "SELECT pid FROM pg_stat_activity WHERE datname = '$1'"); do files+=("/proc/$p/stat"); done
  [ ${#files[@]} -eq 0 ] || python3 -c '
import sys
for f in sys.argv[1:]:
    try:
        fields = open(f).read().rsplit(")", 1)[1].split()
    except OSError:
        continue  # the backend has just exited
    print(f.split("/")[2], int(fields[11]) + int(fields[12]))' "${files[@]}"
}
machine() { awk '/^cpu /{print $2+$3+$4+$6+$7+$8+$9, $5+$6; exit}' /proc/stat; } # busy, idle
db_counters() { q -c "SELECT xact_commit + xact_rollback, tup_returned, tup_fetched FROM pg_stat_database WHERE datname = '$app_db'" | tr '|' ' '; }
sum_delta() { # before-file after-file: the backends' ticks spent between the two samples
  awk 'NR == FNR {b[$1] = $2; next} {d += $2 - ($1 in b ? b[$1] : 0)} END {print d + 0}' "$1" "$2"
}

# ---- 1. pgbench -S, the ceiling ---------------------------------------------------------------
log "databases $app_db and $pgb_db on $base"
q -c "DROP DATABASE IF EXISTS $app_db WITH (FORCE)" -c "DROP DATABASE IF EXISTS $pgb_db WITH (FORCE)" \
  -c "CREATE DATABASE $app_db" -c "CREATE DATABASE $pgb_db"
log "pgbench -i -s 10"
timeout 300 pgbench -i -s 10 -q "$base/$pgb_db" > "$work/pgbench-init.txt" 2>&1
log "pgbench -S -M prepared -c 16 -j 2 -T $secs"
m0=($(machine))
TIMEFORMAT='%U %S'
{ time timeout $((secs + 30)) pgbench -S -M prepared -c 16 -j 2 -T "$secs" "$base/$pgb_db" > "$work/pgbench.txt" 2>&1 ; } 2> "$work/pgbench.time" &
pgbench_job=$!
# The backends live only while pgbench runs: sample them 2 s in and 4 s before the end.
sleep 2
t1=$(date +%s.%N); backend_ticks "$pgb_db" > "$work/pgbench.b0"
m1=($(machine))
sleep $(awk -v s="$secs" 'BEGIN {print s - 6}')
m2=($(machine))
backend_ticks "$pgb_db" > "$work/pgbench.b1"; t2=$(date +%s.%N)
wait "$pgbench_job"
window=$(awk -v a="$t1" -v b="$t2" 'BEGIN {print b - a}')
printf 'pgbench\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$window" 0 "$(sum_delta "$work/pgbench.b0" "$work/pgbench.b1")" \
  "$(cat "$work/pgbench.time")" "$((m2[0] - m1[0]))" "$((m2[1] - m1[1]))" "0 0 0" >> "$results"
q -c "DROP DATABASE $pgb_db WITH (FORCE)"

# ---- 2. the service ---------------------------------------------------------------------------
export MENTORAT_DATABASE_URL="$base/$app_db?sslmode=$sslmode"
export MENTORAT_BIND="127.0.0.1:$port"
export MENTORAT_LOG=warn
export MENTORAT_RATE_LIMIT=0 # a load generator is one caller: the per-caller rate limit is off
export MENTORAT_JWT_SECRET="${MENTORAT_JWT_SECRET:-bench-secret-bench-secret-bench-secret}"
export MENTORAT_ENCRYPTION_KEY="${MENTORAT_ENCRYPTION_KEY:-YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmU=}"
api="http://127.0.0.1:$port"
start_server() {
  "$bin" serve >> "$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do
    curl -fsS "$api/readyz" > /dev/null 2>&1 && return 0
    kill -0 "$server" 2> /dev/null || break
    sleep 0.1
  done
  echo "run_load.sh: the server did not become ready; see $work/server.log" >&2
  tail -5 "$work/server.log" >&2
  exit 1
}
rss() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$server/status"; }
log "migrate, start $bin on $api"
timeout 120 "$bin" migrate > "$work/migrate.txt" 2>&1
start_server
sleep 2
rss_start=$(rss VmRSS)

log "seed through the API"
hris="$("$bin" token --sub HRIS --role hris)"
coordinator="$("$bin" token --sub C1 --role coordinator)"
timeout 180 python3 "$here/bench/load_seed.py" --url "$api" --hris "$hris" --coordinator "$coordinator" \
  --bin "$bin" > "$work/seed.txt"
head -1 "$work/seed.txt" >&2
read -r pair mentor mentee < <(tail -1 "$work/seed.txt" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["pair"], d["mentor"], d["mentee"])')
member="$("$bin" token --sub "$mentor")"
psql -XAtq "$base/$app_db" -c "VACUUM ANALYZE"
cat > "$work/note.lua" << 'LUA'
wrk.method = "POST"
wrk.body = '{"body":"Compte rendu de la rencontre, en quelques lignes : ce qui a été dit reste entre nous.","visibility":"private"}'
wrk.headers["Content-Type"] = "application/json"
LUA

# One wrk run: name, path, token ("" for none), extra wrk arguments.
run_wrk() {
  local name="$1" path="$2" tok="$3" duration="$4"; shift 4
  local auth=()
  [ -z "$tok" ] || auth=(-H "Authorization: Bearer $tok")
  log "wrk $name ($path, ${duration} s)"
  backend_ticks "$app_db" > "$work/$name.b0"
  local s0 m0 c0 s1 m1 c1
  s0=$(ticks "$server"); m0=($(machine)); c0=($(db_counters))
  { time timeout $((duration + 30)) wrk -t2 -c16 -d"${duration}s" --timeout 5s --latency "${auth[@]}" "$@" "$api$path" \
      > "$work/$name.wrk" 2> "$work/$name.err" ; } 2> "$work/$name.time"
  s1=$(ticks "$server"); m1=($(machine))
  backend_ticks "$app_db" > "$work/$name.b1"
  sleep 1.5 # PostgreSQL 15 flushes a backend's statistics once it has been idle a moment
  c1=($(db_counters))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s %s %s\n' "$name" "$duration" "$((s1 - s0))" \
    "$(sum_delta "$work/$name.b0" "$work/$name.b1")" "$(cat "$work/$name.time")" \
    "$((m1[0] - m0[0]))" "$((m1[1] - m0[1]))" "$((c1[0] - c0[0]))" "$((c1[1] - c0[1]))" "$((c1[2] - c0[2]))" >> "$results"
}
run_wrk warmup "/api/v1/pairs/$pair" "$coordinator" 3
run_wrk healthz /healthz "" "$ref_secs"
run_wrk readyz /readyz "" "$ref_secs"
run_wrk pair_coordinator "/api/v1/pairs/$pair" "$coordinator" "$secs"
run_wrk pair_member "/api/v1/pairs/$pair" "$member" "$secs"
run_wrk pairs_member /api/v1/pairs "$member" "$secs"
run_wrk me_member /api/v1/me "$member" "$secs"
run_wrk note_member "/api/v1/pairs/$pair/notes" "$member" "$secs" -s "$work/note.lua"

# ---- 3. p99 at a fixed rate (open loop): several oha processes whose rates add up to $rate ----
# Mostly pair reads and lists, a few notes: 30 % coordinator pair reads, 30 % member pair reads,
# 25 % member lists, 10 % /me, 5 % notes written.
log "oha: $rate req/s mixed for $mixed_secs s"
mix=(
  "mixed_pair_coordinator 0.30 GET /api/v1/pairs/$pair $coordinator"
  "mixed_pair_member 0.30 GET /api/v1/pairs/$pair $member"
  "mixed_pairs_member 0.25 GET /api/v1/pairs $member"
  "mixed_me_member 0.10 GET /api/v1/me $member"
  "mixed_note_member 0.05 POST /api/v1/pairs/$pair/notes $member"
)
backend_ticks "$app_db" > "$work/mixed.b0"
s0=$(ticks "$server"); m0=($(machine)); c0=($(db_counters))
jobs_=()
for line in "${mix[@]}"; do
  read -r name share method path tok <<< "$line"
  qps=$(awk -v r="$rate" -v s="$share" 'BEGIN {printf "%d", r * s}')
  printf '%s\t%s\n' "$name" "$qps" >> "$work/mixed.tsv"
  body=()
  [ "$method" = GET ] || body=(-m POST -T application/json -d '{"body":"Compte rendu de la rencontre.","visibility":"private"}')
  { time timeout $((mixed_secs + 30)) oha --no-tui --output-format json -z "${mixed_secs}s" -q "$qps" -c 8 \
      --latency-correction -H "Authorization: Bearer $tok" "${body[@]}" "$api$path" \
      > "$work/$name.json" 2> "$work/$name.err" ; } 2> "$work/$name.time" &
  jobs_+=($!)
done
for j in "${jobs_[@]}"; do wait "$j" || true; done
s1=$(ticks "$server"); m1=($(machine))
backend_ticks "$app_db" > "$work/mixed.b1"
sleep 1.5
c1=($(db_counters))
gen=$(cat "$work"/mixed_*.time | awk '{u += $1; s += $2} END {print u, s}')
printf 'mixed\t%s\t%s\t%s\t%s\t%s\t%s\t%s %s %s\n' "$mixed_secs" "$((s1 - s0))" \
  "$(sum_delta "$work/mixed.b0" "$work/mixed.b1")" "$gen" "$((m1[0] - m0[0]))" "$((m1[1] - m0[1]))" \
  "$((c1[0] - c0[0]))" "$((c1[1] - c0[1]))" "$((c1[2] - c0[2]))" >> "$results"

sleep 3
rss_after=$(rss VmRSS)
rss_peak=$(rss VmHWM)
printf 'rss\t%s\t%s\t%s\n' "$rss_start" "$rss_after" "$rss_peak" > "$work/rss.tsv"
stop_server

# ---- 4. statements per request, from the PostgreSQL log ----------------------------------------
pg_log="${PG_LOG:-}"
if [ -z "$pg_log" ]; then
  current="$(q -c "SELECT pg_current_logfile()" 2> /dev/null || true)"
  if [ -n "$current" ]; then
    case "$current" in /*) pg_log="$current" ;; *) pg_log="$(q -c 'SHOW data_directory')/$current" ;; esac
  else
    major="$(q -c "SELECT current_setting('server_version_num')::int / 10000")"
    pg_log="/var/log/postgresql/postgresql-$major-main.log"
  fi
fi
: > "$work/statements.tsv"
if [ -r "$pg_log" ] && [ -n "$(q -c "SELECT 1 WHERE current_setting('log_line_prefix') LIKE '%\%d%'")" ]; then
  log "statements per request: log_statement = 'all' on $app_db only, log $pg_log"
  q -c "ALTER DATABASE $app_db SET log_statement = 'all'"
  start_server # new connections, which take the setting
  count_lines() { # statements the service's connections logged since byte offset $1
    tail -c +"$(( $1 + 1 ))" "$pg_log" | grep -a "@$app_db " | grep -ac -E 'LOG:  (statement|execute [^:]*):' || true
  }
  sample() { # name, n, curl arguments
    local name="$1" n="$2"; shift 2
    for _ in 1 2 3; do curl -fsS -o /dev/null "$@"; done # warm: statements prepared, pool filled
    sleep 0.3
    local off t0 t1 i
    off=$(stat -c %s "$pg_log"); t0=$(date +%s.%N)
    for i in $(seq 1 "$n"); do curl -fsS -o /dev/null "$@"; done
    t1=$(date +%s.%N)
    sleep 0.3
    printf '%s\t%s\t%s\t%s\n' "$name" "$n" "$(count_lines "$off")" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a + 0.3}')" >> "$work/statements.tsv"
  }
  # Background statements (the webhook outbox is polled every few seconds): an idle window.
  off=$(stat -c %s "$pg_log"); sleep 6
  printf 'idle\t0\t%s\t6\n' "$(count_lines "$off")" >> "$work/statements.tsv"
  n=20
  sample healthz "$n" "$api/healthz"
  sample readyz "$n" "$api/readyz"
  sample pair_coordinator "$n" -H "Authorization: Bearer $coordinator" "$api/api/v1/pairs/$pair"
  sample pair_member "$n" -H "Authorization: Bearer $member" "$api/api/v1/pairs/$pair"
  sample pairs_member "$n" -H "Authorization: Bearer $member" "$api/api/v1/pairs"
  sample me_member "$n" -H "Authorization: Bearer $member" "$api/api/v1/me"
  sample note_member "$n" -H "Authorization: Bearer $member" -H 'Content-Type: application/json' \
    -d '{"body":"Compte rendu.","visibility":"private"}' "$api/api/v1/pairs/$pair/notes"
  # One request of each, as logged, for the record.
  off=$(stat -c %s "$pg_log")
  curl -fsS -o /dev/null -H "Authorization: Bearer $member" "$api/api/v1/pairs/$pair"
  sleep 0.3
  tail -c +"$((off + 1))" "$pg_log" | grep -a "@$app_db " | grep -a -E 'LOG:  (statement|execute [^:]*):' \
    | sed 's/.*LOG:  //' | cut -c1-160 > "$work/pair_member.statements.txt" || true
  stop_server
  q -c "ALTER DATABASE $app_db RESET log_statement"
else
  log "statements per request: skipped ($pg_log not readable, or log_line_prefix has no %d); set PG_LOG"
fi

# ---- 5. the table -----------------------------------------------------------------------------
log "done; raw outputs in $work"
python3 "$here/bench/load_report.py" "$work" --rate "$rate" --commit "$(git -C "$here" rev-parse --short HEAD 2> /dev/null || echo '?')" \
  --bin "$bin" --elapsed "$(( $(date +%s) - started_at ))"
