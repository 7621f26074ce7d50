#!/usr/bin/env bash
# SCIM provisioning benchmark (issue 14) against the release binary on one database:
#   bench/run_scim.sh postgres://postgres@127.0.0.1:5432/mentorat_scim_bench   # an empty database
#   bench/run_scim.sh sqlite:///tmp/mentorat-bench/scim.db                      # a new file
# Build first: cargo build --release -p mentorat. Figures go to BENCHMARKS.md by hand.
set -euo pipefail
url="${1:?database URL}"
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${BENCH_BIN:-$here/target/release/mentorat}"
port="${BENCH_PORT:-8091}"
export MENTORAT_DATABASE_URL="$url"
export MENTORAT_BIND="127.0.0.1:$port"
export MENTORAT_JWT_SECRET="${MENTORAT_JWT_SECRET:-bench-secret-bench-secret-bench-secret}"
export MENTORAT_LOG="${MENTORAT_LOG:-warn}"
export MENTORAT_RATE_LIMIT=0 # a load generator is one caller: not limited
export MENTORAT_ENCRYPTION_KEY="${MENTORAT_ENCRYPTION_KEY:-YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmU=}"
"$bin" migrate
"$bin" serve > /tmp/mentorat-scim-bench-server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/readyz" > /dev/null 2>&1 && break
  sleep 0.1
done
hris="$("$bin" token --sub SCIM --role hris)"
echo "== $url"
python3 "$here/bench/scim_provision.py" --url "http://127.0.0.1:$port" --token "$hris" ${SCIM_USERS:+--users "$SCIM_USERS"}
