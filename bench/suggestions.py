#!/usr/bin/env python3
"""Benchmark: suggestions for one mentee among 10,000 mentors.

Starts nothing itself: point it at a running release binary (see BENCHMARKS.md), e.g.

    python3 bench/suggestions.py --url http://127.0.0.1:8090 \
        --hris "$(target/release/mentorat token --sub HRIS --role hris)" \
        --coordinator "$(target/release/mentorat token --sub C1 --role coordinator)"

Setup (not timed): N+1 people in a management tree (fanout 10), one program, N mentors
enrolled with topics and languages, and one mentee in the middle of the tree so that the R1
filter has a real chain above and a real subtree below to exclude. Then it times
`GET /programs/{id}/enrollments/{mentee}/suggestions?limit=10` sequentially, after a warm-up,
and prints min / median / p95 / p99 / max. Only standard-library Python; loopback only.
"""

import argparse
import concurrent.futures
import json
import statistics
import time
import urllib.request

TOPICS = ["urgences", "pédiatrie", "management", "qualité", "hygiène", "gériatrie", "bloc",
          "réanimation", "éducation thérapeutique", "douleur", "soins palliatifs", "recherche"]
LANGUAGES = ["fr", "en", "es", "de", "ar", "pt"]


def call(url, token, method, path, body=None, content_type="application/json"):
    data = None
    headers = {"Authorization": f"Bearer {token}"}
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = content_type
    request = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=600) as response:
        raw = response.read()
        return json.loads(raw) if raw else None


def people_csv(n, fanout=10):
    rows = ["external_id,given_name,family_name,email,department,job_title,site,manager_external_id,active"]
    for i in range(n):
        manager = "" if i == 0 else f"S{(i - 1) // fanout}"
        rows.append(f"S{i},Prénom{i},Nom{i},s{i}@chu.example,Service {i % 40},Soignant,"
                    f"Site {i % 5},{manager},true")
    return ("\n".join(rows) + "\n").encode()


def all_people(url, token):
    ids, cursor = {}, None
    while True:
        path = "/api/v1/people?limit=200" + (f"&cursor={cursor}" if cursor else "")
        page = call(url, token, "GET", path)
        for person in page["items"]:
            ids[person["external_id"]] = person["id"]
        cursor = page.get("next_cursor")
        if not cursor:
            return ids


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8090")
    parser.add_argument("--hris", required=True)
    parser.add_argument("--coordinator", required=True)
    parser.add_argument("--mentors", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    if not args.url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        raise SystemExit("this benchmark only targets the loopback address")
    url, hris, coord = args.url, args.hris, args.coordinator

    started = time.perf_counter()
    n = args.mentors + 1
    call(url, hris, "POST", "/api/v1/people/import", people_csv(n), "text/csv; charset=utf-8")
    ids = all_people(url, coord)
    program = call(url, coord, "POST", "/api/v1/programs",
                   {"name": f"Bench {time.time()}", "default_mentor_capacity": 3})
    pid = program["id"]
    # The mentee sits at depth 2 (S5: two managers above, 111 people below).
    mentee_ext = "S5"
    mentee = call(url, coord, "POST", f"/api/v1/programs/{pid}/enrollments",
                  {"person_id": ids[mentee_ext], "role": "mentee",
                   "goals": "progresser en management et qualité, urgences", "languages": ["fr", "en"],
                   "topics": ["management", "qualité", "urgences"]})

    def enroll(i):
        ext = f"S{i}"
        call(url, coord, "POST", f"/api/v1/programs/{pid}/enrollments",
             {"person_id": ids[ext], "role": "mentor", "capacity": 1 + i % 3,
              "topics": [TOPICS[i % len(TOPICS)], TOPICS[(i * 7) % len(TOPICS)]],
              "languages": [LANGUAGES[i % len(LANGUAGES)], "fr"]})

    mentors = [i for i in range(n) if f"S{i}" != mentee_ext]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(enroll, mentors))
    print(f"setup: {n} people, {len(mentors)} mentors enrolled in {time.perf_counter() - started:.1f} s")

    path = f"/api/v1/programs/{pid}/enrollments/{mentee['id']}/suggestions?limit=10"
    for _ in range(10):
        first = call(url, coord, "GET", path)
    samples = []
    for _ in range(args.requests):
        t0 = time.perf_counter()
        answer = call(url, coord, "GET", path)
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    items = answer["items"] if isinstance(answer, dict) else answer
    q = statistics.quantiles(samples, n=100)
    print(f"suggestions ({len(items)} returned, best score {items[0]['score'] if items else '-'}),"
          f" {args.requests} sequential requests: min {samples[0]:.1f} ms, median {q[49]:.1f} ms,"
          f" p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms, max {samples[-1]:.1f} ms")
    assert first == answer, "suggestions must be stable between identical requests"


if __name__ == "__main__":
    main()
