#!/usr/bin/env python3
"""Benchmark: provision N users (default 10,000) through SCIM, one `POST /scim/v2/Users` at a
time, as Entra ID's provisioning cycle does (issue 14; target: under a minute on PostgreSQL).

Starts nothing itself: point it at a running release binary (bench/run_scim.sh does it all):

    python3 bench/scim_provision.py --url http://127.0.0.1:8091 --token "$(target/release/mentorat token --sub SCIM --role hris)"

Users come top-down in a management tree (fanout 10), each naming their manager's
`userName` in the enterprise extension, with two emails and an address, the shape of
Entra ID's default mapping. One keep-alive connection, one request after the other; prints
the wall time, the rate and the slowest requests. Then one `GET /Users?filter=userName eq`
of the last user and one `PATCH` (what a later incremental cycle sends). Only
standard-library Python; talks to the loopback address it is given and nothing else.
"""

import argparse
import http.client
import json
import time
import urllib.parse

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def user(i: int, fanout: int) -> dict:
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": f"S{i}",
        "externalId": f"aad-{i:08x}",
        "active": True,
        "name": {"givenName": f"Prénom{i}", "familyName": f"Nom{i}"},
        "emails": [
            {"value": f"s{i}@chu.example", "type": "work", "primary": True},
            {"value": f"s{i}@home.example", "type": "home"},
        ],
        "title": "Soignant",
        "addresses": [{"type": "work", "formatted": f"Site {i % 5}"}],
        ENTERPRISE: {"department": f"Service {i % 40}"},
    }
    if i > 0:
        body[ENTERPRISE]["manager"] = {"value": f"S{(i - 1) // fanout}"}
    return body


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8091")
    parser.add_argument("--token", required=True)
    parser.add_argument("--users", type=int, default=10_000)
    args = parser.parse_args()
    if not args.url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        raise SystemExit("this benchmark only targets the loopback address")
    target = urllib.parse.urlparse(args.url)
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
    headers = {
        "Authorization": f"Bearer {args.token}",
        "Content-Type": "application/scim+json",
        "Accept": "application/scim+json",
    }

    def send(method: str, path: str, body=None) -> tuple[int, float, dict]:
        data = json.dumps(body).encode() if body is not None else None
        started = time.perf_counter()
        conn.request(method, "/scim/v2" + path, body=data, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        elapsed = time.perf_counter() - started
        return response.status, elapsed, json.loads(payload) if payload else {}

    times = []
    started = time.perf_counter()
    for i in range(args.users):
        status, elapsed, doc = send("POST", "/Users", user(i, 10))
        if status != 201:
            raise SystemExit(f"user {i}: {status} {doc}")
        times.append(elapsed)
    total = time.perf_counter() - started
    times.sort()
    pct = lambda p: times[min(len(times) - 1, int(len(times) * p))] * 1000  # noqa: E731
    print(
        f"{args.users} users by SCIM POST, one at a time: {total:.1f} s "
        f"({args.users / total:.0f}/s); per request p50 {pct(0.5):.1f} ms, "
        f"p99 {pct(0.99):.1f} ms, max {times[-1] * 1000:.1f} ms"
    )
    last = f"S{args.users - 1}"
    query = urllib.parse.quote(f'userName eq "{last}"')
    status, elapsed, doc = send("GET", f"/Users?filter={query}")
    assert status == 200 and doc["totalResults"] == 1, doc
    print(f"GET filter userName eq: {elapsed * 1000:.1f} ms")
    user_id = doc["Resources"][0]["id"]
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "title", "value": "Cadre"}],
    }
    status, elapsed, doc = send("PATCH", f"/Users/{user_id}", patch)
    assert status == 200, doc
    print(f"PATCH one attribute: {elapsed * 1000:.1f} ms")
    query = urllib.parse.quote('emails co "s99" and active eq true')
    status, elapsed, doc = send("GET", f"/Users?filter={query}&count=10")
    assert status == 200, doc
    print(f"GET filter emails co … (a scan of {args.users}): {elapsed * 1000:.1f} ms, {doc['totalResults']} found")
    # Statements per POST, from the server's own counter (machine-independent).
    conn.request("GET", "/metrics")
    metrics = conn.getresponse().read().decode()
    seen = {}
    for line in metrics.splitlines():
        if line.startswith("mentorat_http_request_db_statements_") and 'method="POST"' in line and "/Users\"" in line:
            name = line.split("{")[0].rsplit("_", 1)[1]
            if name in ("sum", "count"):
                seen[name] = float(line.rsplit(" ", 1)[1])
    if seen.get("count"):
        print(f"database statements per POST /Users: {seen['sum'] / seen['count']:.1f} (mean of {seen['count']:.0f})")


if __name__ == "__main__":
    main()
