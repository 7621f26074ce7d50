#!/usr/bin/env python3
"""The table of bench/run_load.sh: reads the raw outputs it left in a directory and prints
Markdown — throughput beside pgbench -S, latency, CPU per request on each side, statements per
request, RSS — and each target met or not. Standard-library Python only.

    python3 bench/load_report.py /tmp/mentorat-load.XXXXXX --rate 1000 --commit abc1234
"""

import argparse
import json
import os
import re
import sys

TICK = os.sysconf("SC_CLK_TCK")
ROUTES = {
    "healthz": ("GET /healthz", "nobody"),
    "readyz": ("GET /readyz", "nobody"),
    "pair_coordinator": ("GET /api/v1/pairs/{id}", "coordinator"),
    "pair_member": ("GET /api/v1/pairs/{id}", "member"),
    "pairs_member": ("GET /api/v1/pairs", "member (their 2 pairs)"),
    "me_member": ("GET /api/v1/me", "member"),
    "note_member": ("POST /api/v1/pairs/{id}/notes", "member"),
}
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def ms(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNITS[unit]


def wrk(path):
    text = open(path).read()
    out = {"requests": int(re.search(r"(\d+) requests in", text).group(1)),
           "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
           "non2xx": int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", text)) else 0,
           "socket_errors": sum(map(int, m.groups())) if (m := re.search(
               r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)) else 0}
    for p in ("50", "90", "99"):
        out[f"p{p}"] = ms(re.search(rf"^\s+{p}(?:\.000)?%\s+(\S+)", text, re.M).group(1))
    return out


def results(directory):
    rows = {}
    for line in open(os.path.join(directory, "results.tsv")):
        name, duration, svc, pg, gen, busy, idle, counters = line.rstrip("\n").split("\t")
        user, system = map(float, gen.split())
        xacts, returned, fetched = map(int, counters.split())
        rows[name] = {"duration": float(duration), "svc_ticks": int(svc), "pg_ticks": int(pg),
                      "gen_seconds": user + system, "busy": int(busy), "idle": int(idle),
                      "xacts": xacts, "returned": returned, "fetched": fetched}
    return rows


def fmt(x, digits=0):
    return "–" if x is None else f"{x:,.{digits}f}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--commit", default="?")
    parser.add_argument("--bin", default="target/release/mentorat")
    parser.add_argument("--elapsed", type=int, default=0)
    args = parser.parse_args()
    d = args.directory
    rows = results(d)

    text = open(os.path.join(d, "pgbench.txt")).read()
    tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", text).group(1))
    pgb_latency = float(re.search(r"latency average = ([\d.]+) ms", text).group(1))
    pgb_secs = float(re.search(r"duration: (\d+) s", text).group(1))
    pgb = rows["pgbench"]
    pgb_pg_us = pgb["pg_ticks"] / TICK * 1e6 / (tps * pgb["duration"])
    pgb_gen_us = pgb["gen_seconds"] * 1e6 / (tps * pgb_secs)
    pgb_busy = 100 * pgb["busy"] / max(1, pgb["busy"] + pgb["idle"])

    statements = {}
    path = os.path.join(d, "statements.tsv")
    if os.path.exists(path) and os.path.getsize(path):
        lines = [line.rstrip("\n").split("\t") for line in open(path)]
        idle_rate = next(int(c) / float(s) for name, n, c, s in lines if name == "idle")
        for name, n, count, seconds in lines:
            if name != "idle":
                statements[name] = max(0.0, (int(count) - idle_rate * float(seconds)) / int(n))
    else:
        idle_rate = None

    print(f"## Load benchmark — commit `{args.commit}`, {args.bin}\n")
    print(f"Machine: {os.cpu_count()} cores (shared), service, PostgreSQL and load generator on it. "
          f"wrk -t2 -c16, {int(rows['pair_member']['duration'])} s a route; whole run {args.elapsed} s; "
          f"load average before the run {open(os.path.join(d, 'loadavg')).read().split()[0]}.\n")
    print("| what | caller | req/s | vs pgbench -S | p50 ms | p99 ms | errors | service CPU µs/req "
          "| PostgreSQL CPU µs/req | generator CPU µs/req | machine busy | transactions/req | statements/req |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| pgbench -S -M prepared -c 16 -j 2 | — | **{fmt(tps)}** | 100 % | {pgb_latency:.2f} (mean) | – | 0 "
          f"| – | {fmt(pgb_pg_us)} | {fmt(pgb_gen_us)} | {pgb_busy:.0f} % | 1 | 1 |")
    measured = {}
    for name, (route, caller) in ROUTES.items():
        if name not in rows:
            continue
        r, w = rows[name], wrk(os.path.join(d, f"{name}.wrk"))
        measured[name] = w
        n = w["requests"]
        svc_us = r["svc_ticks"] / TICK * 1e6 / n
        pg_us = r["pg_ticks"] / TICK * 1e6 / n
        gen_us = r["gen_seconds"] * 1e6 / n
        busy = 100 * r["busy"] / max(1, r["busy"] + r["idle"])
        errors = w["non2xx"] + w["socket_errors"]
        st = statements.get(name)
        print(f"| `{route}` | {caller} | **{fmt(w['rps'])}** | {100 * w['rps'] / tps:.1f} % | {w['p50']:.2f} "
              f"| {w['p99']:.2f} | {errors} | {fmt(svc_us)} | {fmt(pg_us)} | {fmt(gen_us)} | {busy:.0f} % "
              f"| {r['xacts'] / n:.2f} | {fmt(st, 1)} |")
    if idle_rate is not None:
        print(f"\nStatements counted in the PostgreSQL log (log_statement = 'all' on the bench database only), "
              f"20 sequential requests each, less the idle background ({idle_rate:.2f} statements/s). "
              "Transactions per request from pg_stat_database.xact_commit over the wrk run.")

    # Mixed load at a fixed rate.
    print(f"\n### Mixed load, open loop at {args.rate:,} req/s for {int(rows['mixed']['duration'])} s (oha, "
          "latency corrected for coordinated omission)\n")
    print("| stream | target req/s | achieved req/s | p50 ms | p99 ms | p99.9 ms | max ms | non-2xx / errors |")
    print("|---|---|---|---|---|---|---|---|")
    worst_p99, total, offered = 0.0, 0, 0
    targets = dict(line.split() for line in open(os.path.join(d, "mixed.tsv")))
    for name in sorted(f[:-5] for f in os.listdir(d) if f.startswith("mixed_") and f.endswith(".json")):
        try:
            o = json.load(open(os.path.join(d, f"{name}.json")))
        except ValueError:
            print(f"| {name} | oha failed: see {name}.err | | | | | | |")
            worst_p99 = float("inf")
            continue
        s, p = o["summary"], o["latencyPercentiles"]
        codes = o.get("statusCodeDistribution", {})
        done = sum(codes.values())
        # Requests still in flight when the duration ends are "aborted due to deadline": not errors.
        errors = {k: v for k, v in o.get("errorDistribution", {}).items() if "deadline" not in k}
        bad = sum(v for k, v in codes.items() if not k.startswith("2")) + sum(errors.values())
        offered += int(targets[name])
        total += done
        p99 = (p["p99"] or 0) * 1e3
        worst_p99 = max(worst_p99, p99)
        print(f"| {name[6:]} | {targets[name]} | {done / rows['mixed']['duration']:,.0f} | {(p['p50'] or 0) * 1e3:.2f} | {p99:.2f} "
              f"| {(p['p99.9'] or 0) * 1e3:.2f} | {s['slowest'] * 1e3:.1f} | {bad} |")
    m = rows["mixed"]
    if total:
        print(f"\nAll streams: {offered:,} req/s offered, {total / m['duration']:,.0f} req/s answered; service CPU {m['svc_ticks'] / TICK * 1e6 / total:,.0f} µs/req, "
              f"PostgreSQL {m['pg_ticks'] / TICK * 1e6 / total:,.0f} µs/req, oha {m['gen_seconds'] * 1e6 / total:,.0f} µs/req; "
              f"machine {100 * m['busy'] / max(1, m['busy'] + m['idle']):.0f} % busy.")

    rss = open(os.path.join(d, "rss.tsv")).read().split()
    rss_start, rss_after, rss_peak = (int(x) / 1024 for x in rss[1:4])
    print(f"\nRSS of the server: {rss_start:.1f} MiB idle after start, {rss_after:.1f} MiB idle after the load "
          f"(peak {rss_peak:.1f} MiB).\n")

    checks = []
    if "pair_coordinator" in measured:
        checks.append(("coordinator pair read ≥ 25 % of pgbench -S", 100 * measured["pair_coordinator"]["rps"] / tps, 25, "%", True))
    if "pair_member" in measured:
        checks.append(("member pair read ≥ 15 % of pgbench -S", 100 * measured["pair_member"]["rps"] / tps, 15, "%", True))
    checks.append((f"p99 ≤ 10 ms at {args.rate:,} req/s (worst stream)", worst_p99, 10, "ms", False))
    checks.append(("idle RSS ≤ 30 MiB (after start and after the load)", max(rss_start, rss_after), 30, "MiB", False))
    print("| target | measured | |")
    print("|---|---|---|")
    failed = 0
    for label, value, bound, unit, at_least in checks:
        ok = value >= bound if at_least else value <= bound
        failed += not ok
        print(f"| {label} | {value:.1f} {unit} | {'pass' if ok else '**FAIL**'} |")
    for name, w in measured.items():
        if w["non2xx"] or w["socket_errors"]:
            print(f"\nwarning: {name}: {w['non2xx']} non-2xx answers, {w['socket_errors']} socket errors", file=sys.stderr)


if __name__ == "__main__":
    main()
