#!/usr/bin/env python3
"""Benchmark (issue 17): a matching run of 2,000 mentees × 1,000 mentors of capacity 2.

Starts nothing itself: point it at a running release binary (see BENCHMARKS.md), e.g.

    python3 bench/matching_run.py --url http://127.0.0.1:8090 \
        --hris "$(target/release/mentorat token --sub HRIS --role hris)" \
        --coordinator "$(target/release/mentorat token --sub C1 --role coordinator)"

Setup (not timed): 3,000 people in a management tree (fanout 10, so R1 filters real chains),
one program, 1,000 mentors (capacity 2) and 2,000 mentees with topics and languages. Then it
times `POST /programs/{id}/matching-runs` for `most_matched` and `best_score` (the whole
request: reading the inputs, scoring every allowed couple, the exact solver, keeping the run),
and beside it a greedy pass over `…/suggestions` — what a coordinator does by hand today: each
mentee in turn takes the best-ranked mentor who still has a place (places tracked here, no
pair proposed) — and prints the number matched and the total score of each.

The solver alone: `cargo test -p mentorat-domain --release --lib -- --ignored solver_benchmark
--nocapture`. Only standard-library Python; loopback only.
"""

import argparse
import concurrent.futures
import json
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
        manager = "" if i == 0 else f"K{(i - 1) // fanout}"
        rows.append(f"K{i},Prénom{i},Nom{i},k{i}@chu.example,Service {i % 40},Soignant,"
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
    parser.add_argument("--mentees", type=int, default=2_000)
    parser.add_argument("--mentors", type=int, default=1_000)
    args = parser.parse_args()
    if not args.url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        raise SystemExit("this benchmark only targets the loopback address")
    url, hris, coord = args.url, args.hris, args.coordinator

    started = time.perf_counter()
    n = args.mentees + args.mentors
    call(url, hris, "POST", "/api/v1/people/import", people_csv(n), "text/csv; charset=utf-8")
    ids = all_people(url, coord)
    program = call(url, coord, "POST", "/api/v1/programs",
                   {"name": f"Bench matching {time.time()}", "default_mentor_capacity": 2})
    pid = program["id"]

    def enroll(i):
        ext = f"K{i}"
        mentor = i % 3 == 0 and i // 3 < args.mentors
        body = {"person_id": ids[ext], "role": "mentor" if mentor else "mentee",
                "topics": [TOPICS[i % len(TOPICS)], TOPICS[(i * 7) % len(TOPICS)]],
                "languages": [LANGUAGES[i % len(LANGUAGES)], "fr"]}
        if mentor:
            body["capacity"] = 2
        else:
            body["goals"] = f"progresser en {TOPICS[(i * 5) % len(TOPICS)]}"
        answer = call(url, coord, "POST", f"/api/v1/programs/{pid}/enrollments", body)
        return (answer["id"], mentor)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        enrolled = list(pool.map(enroll, range(n)))
    mentees = [e for e, mentor in enrolled if not mentor]
    print(f"setup: {n} people, {len(enrolled) - len(mentees)} mentors, {len(mentees)} mentees"
          f" in {time.perf_counter() - started:.1f} s")

    for objective in ["most_matched", "best_score"]:
        t0 = time.perf_counter()
        run = call(url, coord, "POST", f"/api/v1/programs/{pid}/matching-runs", {"objective": objective})
        elapsed = time.perf_counter() - t0
        print(f"run {objective}: {run['matched']} matched, total score {run['total_score']},"
              f" {len(run['unmatched'])} unmatched, {elapsed:.2f} s")

    # The greedy pass a coordinator makes by hand: mentee after mentee, the best suggestion
    # that still has a place.
    t0 = time.perf_counter()
    taken, matched, total = {}, 0, 0
    for mentee in mentees:
        page = call(url, coord, "GET", f"/api/v1/programs/{pid}/enrollments/{mentee}/suggestions?limit=100")
        for s in page["items"]:
            if taken.get(s["enrollment_id"], 0) < 2:
                taken[s["enrollment_id"]] = taken.get(s["enrollment_id"], 0) + 1
                matched += 1
                total += s["score"]
                break
    print(f"greedy over suggestions: {matched} matched, total score {total},"
          f" {time.perf_counter() - t0:.1f} s for {len(mentees)} requests")


if __name__ == "__main__":
    main()
