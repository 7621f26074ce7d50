#!/usr/bin/env python3
"""Benchmark: the program report and pair-health pages on a seeded program (see
bench/run_reports.sh). Sequential requests after a warm-up; prints min / median / p95 / max.
Standard-library Python; loopback only."""

import argparse
import json
import statistics
import time
import urllib.request


def timed(url, token, path, accept="application/json"):
    request = urllib.request.Request(
        url + path, headers={"Authorization": f"Bearer {token}", "Accept": accept})
    t0 = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        body = response.read()
    return (time.perf_counter() - t0) * 1000, body


def measure(label, url, token, path, n, accept="application/json"):
    for _ in range(3):
        timed(url, token, path, accept)
    samples = sorted(timed(url, token, path, accept)[0] for _ in range(n))
    q = statistics.quantiles(samples, n=20)
    print(f"{label}: {n} requests — min {samples[0]:.1f} ms, median {statistics.median(samples):.1f} ms,"
          f" p95 {q[18]:.1f} ms, max {samples[-1]:.1f} ms")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8092")
    parser.add_argument("--token", required=True)
    parser.add_argument("--program", required=True)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    if not args.url.startswith(("http://127.", "http://localhost")):
        raise SystemExit("loopback only")
    base = f"/api/v1/programs/{args.program}"
    _, body = timed(args.url, args.token, f"{base}/report?group_by=department")
    report = json.loads(body)
    print(f"report: {report['total']['pairs']} pairs, {report['total']['meetings_held']} meetings held,"
          f" {len(report['groups'])} groups")
    # Cold: every request names another window, so no replica has it computed yet.
    for label, extra in [("total", ""), ("by department", "&group_by=department")]:
        samples = sorted(
            timed(args.url, args.token, f"{base}/report?from=2024-01-{day:02d}{extra}")[0]
            for day in range(1, 11))
        print(f"report {label}, cold: 10 requests — min {samples[0]:.1f} ms,"
              f" median {statistics.median(samples):.1f} ms, max {samples[-1]:.1f} ms")
    measure("report (total), warm", args.url, args.token, f"{base}/report", args.requests)
    measure("report by department, warm", args.url, args.token, f"{base}/report?group_by=department", args.requests)
    measure("report by site as CSV, warm", args.url, args.token, f"{base}/report?group_by=site", args.requests, "text/csv")
    measure("pair-health, first page of 50", args.url, args.token, f"{base}/pair-health?limit=50", args.requests)
    _, body = timed(args.url, args.token, f"{base}/pair-health?limit=200")
    cursor = json.loads(body)["next_cursor"]
    for _ in range(50):
        _, body = timed(args.url, args.token, f"{base}/pair-health?limit=200&cursor={cursor}")
        cursor = json.loads(body)["next_cursor"]
    measure("pair-health, a page of 50 at pair 10,000", args.url, args.token,
            f"{base}/pair-health?limit=50&cursor={cursor}", args.requests)
    for flag in ["overdue", "reschedule_owed", "objectives_missing", "charter_pending",
                 "hierarchy_conflict", "suspended"]:
        _, body = timed(args.url, args.token, f"{base}/pair-health?limit=50&flag={flag}")
        found = len(json.loads(body)["items"])
        measure(f"pair-health?flag={flag}, first page ({found} found)", args.url, args.token,
                f"{base}/pair-health?limit=50&flag={flag}", args.requests)


if __name__ == "__main__":
    main()
