#!/usr/bin/env bash
# The report benchmark (issue 7) on PostgreSQL: 75,000 people, 50,000 pairs, 500,000 meetings.
#   bench/run_reports.sh postgres://postgres@127.0.0.1:5432/mentorat_bench_reports   # an empty database
set -euo pipefail
url="${1:?PostgreSQL URL of an empty database}"
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${BENCH_BIN:-$here/target/release/mentorat}"
port="${BENCH_PORT:-8092}"
export MENTORAT_DATABASE_URL="$url" MENTORAT_BIND="127.0.0.1:$port" MENTORAT_LOG="${MENTORAT_LOG:-warn}"
export MENTORAT_RATE_LIMIT=0 # a load generator is one caller: not limited
export MENTORAT_JWT_SECRET="${MENTORAT_JWT_SECRET:-bench-secret-bench-secret-bench-secret}"
export MENTORAT_ENCRYPTION_KEY="${MENTORAT_ENCRYPTION_KEY:-YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmU=}"
"$bin" migrate
"$bin" serve > /tmp/mentorat-bench-reports.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" > /dev/null 2>&1 && break; sleep 0.1; done
hris="$("$bin" token --sub HRIS --role hris)"
coordinator="$("$bin" token --sub C1 --role coordinator)"
python3 "$here/bench/import_people.py" --url "http://127.0.0.1:$port" --token "$hris" --people 75000
program=$(curl -fsS -X POST "http://127.0.0.1:$port/api/v1/programs" -H "Authorization: Bearer $coordinator" \
  -H 'Content-Type: application/json' -d '{"name": "Rapport 50k"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
started=$(date +%s)
psql "$url" -q -v program="$program" -f "$here/bench/report_seed.sql"
echo "seeded in $(( $(date +%s) - started )) s"
python3 "$here/bench/reports.py" --url "http://127.0.0.1:$port" --token "$coordinator" --program "$program"
