#!/usr/bin/env python3
"""Benchmark: import 100,000 people with a 6-level management tree.

Starts nothing itself: point it at a running release binary, e.g.

    MENTORAT_DATABASE_URL=sqlite:///tmp/bench.db MENTORAT_BIND=127.0.0.1:8090 \
        target/release/mentorat &
    python3 bench/import_people.py --url http://127.0.0.1:8090 --token "$(target/release/mentorat token --sub HRIS --role hris)"

It sends one CSV of N people (managers listed *after* their reports, the hard order), then
the same CSV again (everything `unchanged`), and prints the wall time of each request.
Only standard-library Python; talks to the loopback address it is given and nothing else.
"""

import argparse
import json
import time
import urllib.request


def tree(n: int, fanout: int = 10):
    """People P0..P(n-1); P0 at the top, each manager has `fanout` reports: 6 levels for
    100,000 people with fanout 10 (1 + 10 + 100 + 1,000 + 10,000 + 88,889)."""
    rows = []
    for i in range(n):
        manager = "" if i == 0 else f"P{(i - 1) // fanout}"
        rows.append(
            f"P{i},Prénom{i},\"Nom{i}, dit «{i % 97}»\",p{i}@chu.example,"
            f"Service {i % 40},Soignant,Site {i % 5},{manager},true"
        )
    rows.reverse()  # reports before their managers
    header = "external_id,given_name,family_name,email,department,job_title,site,manager_external_id,active"
    return header + "\n" + "\n".join(rows) + "\n"


def post(url: str, token: str, body: bytes) -> tuple[float, dict]:
    request = urllib.request.Request(
        url + "/api/v1/people/import",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv; charset=utf-8"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:
        payload = json.loads(response.read())
    return time.perf_counter() - started, payload


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8090")
    parser.add_argument("--token", required=True)
    parser.add_argument("--people", type=int, default=100_000)
    args = parser.parse_args()
    if not args.url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        raise SystemExit("this benchmark only targets the loopback address")
    body = tree(args.people).encode()
    print(f"CSV: {args.people} people, {len(body) / 2**20:.1f} MiB")
    for label in ("first import", "re-import"):
        seconds, report = post(args.url, args.token, body)
        errors = len(report.get("errors", []))
        print(
            f"{label}: {seconds:.2f} s — created {report['created']}, updated {report['updated']}, "
            f"unchanged {report['unchanged']}, errors {errors}"
        )


if __name__ == "__main__":
    main()
