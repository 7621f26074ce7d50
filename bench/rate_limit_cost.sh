#!/usr/bin/env bash
# What the rate limiter costs a request (issue 13), in instructions, not seconds: the machine
# is shared, and callgrind's counts do not depend on its load.
#
#   bench/rate_limit_cost.sh [REQUESTS]        # default 300
#
# Starts the server (MENTORAT_BIN, default target/release/mentorat) under
# `valgrind --tool=callgrind` on a fresh SQLite file, once with the limiter off
# (MENTORAT_RATE_LIMIT=0) and once on (a rate no request reaches, so every request is checked
# and none refused: the cost of the check, not of a 429). After the start and a warm-up, the
# counters are zeroed (`callgrind_control -z`), REQUESTS identical authenticated reads
# (`GET /api/v1/programs?limit=1`, one keep-alive connection) are sent, and the counters are
# dumped (`callgrind_control -d`): instructions per request, every thread of the process
# (workers, the audit writer, the limiter's sweeper), start-up excluded.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${MENTORAT_BIN:-target/release/mentorat}
requests=${1:-300}
work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

secret=$(python3 -c 'import secrets; print(secrets.token_hex(32))')

measure() { # $1: a name, $2: MENTORAT_RATE_LIMIT
  local name=$1 limit=$2 port out
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  out="$work/callgrind.$name"
  rm -f "$work/limit.db"*
  MENTORAT_DATABASE_URL="sqlite://$work/limit.db" MENTORAT_BIND="127.0.0.1:$port" \
    MENTORAT_JWT_SECRET="$secret" MENTORAT_LOG=warn MENTORAT_RATE_LIMIT="$limit" \
    valgrind --tool=callgrind --callgrind-out-file="$out.%p" "$bin" serve >"$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 1500); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.2
  done
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$work/server.log" >&2; exit 1; }
  local token
  token=$(MENTORAT_DATABASE_URL="sqlite://$work/limit.db" MENTORAT_JWT_SECRET="$secret" \
    "$bin" token --sub BENCH --role coordinator --ttl 3600)
  python3 - "$port" "$token" 20 <<'EOF'
import http.client, sys
port, token, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
for _ in range(n):
    c.request("GET", "/api/v1/programs?limit=1", headers={"Authorization": f"Bearer {token}"})
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
EOF
  sleep 1
  callgrind_control -z "$pid" >/dev/null
  python3 - "$port" "$token" "$requests" <<'EOF'
import http.client, sys
port, token, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
for _ in range(n):
    c.request("GET", "/api/v1/programs?limit=1", headers={"Authorization": f"Bearer {token}"})
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
EOF
  sleep 1
  callgrind_control -d "$pid" >/dev/null
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  # The dump after the zeroing: the highest-numbered part file.
  local dump total
  dump=$(ls -v "$out".*.[0-9]* 2>/dev/null | grep -v '\.0$' | tail -1 || true)
  [ -n "$dump" ] || dump=$(ls -v "$out".* | tail -1)
  total=$(grep -h '^summary:\|^totals:' "$dump" | head -1 | awk '{print $2}')
  if [ "$name" = on ] && command -v callgrind_annotate >/dev/null; then
    # The limiter's own work, inclusive: the caller's key, the GCRA check, the two fields.
    callgrind_annotate --inclusive=yes --threshold=100 "$dump" 2>/dev/null |
      grep -E 'rate_limit::(caller_of|set_fields|client_address)|check_key' |
      head -12 >"$work/limiter-functions" || true
  fi
  echo "$name $total"
}

off=$(measure off 0)
on=$(measure on "1000000/s,burst=1000000")
python3 - "$requests" "$off" "$on" <<'EOF'
import sys
n = int(sys.argv[1])
off, on = int(sys.argv[2].split()[1]), int(sys.argv[3].split()[1])
print(f"requests measured: {n} (GET /api/v1/programs?limit=1, authenticated)")
print(f"limiter off: {off / n:,.0f} instructions per request")
print(f"limiter on:  {on / n:,.0f} instructions per request")
print(f"difference:  {(on - off) / n:+,.0f} instructions per request ({(on - off) / off:+.2%})")
EOF
echo "the limiter's functions, inclusive, over the $requests requests (limiter on):"
cat "$work/limiter-functions"
