#!/usr/bin/env python3
"""Seed for the load benchmark (bench/run_load.sh): a small hospital, written through the API.

Starts nothing itself: point it at a running release binary and give it tokens, e.g.

    python3 bench/load_seed.py --url http://127.0.0.1:8091 \
        --hris "$(target/release/mentorat token --sub HRIS --role hris)" \
        --coordinator "$(target/release/mentorat token --sub C1 --role coordinator)" \
        --bin target/release/mentorat

What it writes, every row through the HTTP API as the real callers would (so the data is what
the service itself keeps — sealed content, tallies, audit events, notifications):

- N people (default 200) imported as JSON by the HRIS: L0 heads the hospital, L1..L9 head
  a department each, everyone else reports to one of them;
- one program with a charter; mentors and mentees enrolled by a coordinator; each of them
  accepts the charter (version 1) with their own token;
- pairs (default 50, two mentees per mentor, never in each other's management chain: R1)
  proposed by the coordinator and accepted by both members, so they are `active`;
- in each pair: two objectives (one agreed by the other member), two meetings ahead, three notes
  (two private, one shared).

It prints, on its last line, a JSON object naming the pair and the members the load runs use.
Member tokens are minted with `--bin token --sub <external_id>` (no role). Standard-library
Python only; talks to the loopback address it is given and nothing else.
"""

import argparse
import concurrent.futures
import datetime
import json
import subprocess
import time
import urllib.error
import urllib.request

DEPARTMENTS = ["Cardiologie", "Pédiatrie", "Urgences", "Pharmacie", "Radiologie", "Gériatrie",
               "Bloc opératoire", "Réanimation", "Oncologie"]
TOPICS = ["management", "qualité", "hygiène", "douleur", "éducation thérapeutique", "recherche"]


def call(url, token, method, path, body=None, expect=(200, 201)):
    data, headers = None, {"Authorization": f"Bearer {token}"}
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    if status not in expect:
        raise SystemExit(f"{method} {path}: {status} {raw[:400]!r}")
    return json.loads(raw) if raw else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8091")
    parser.add_argument("--hris", required=True)
    parser.add_argument("--coordinator", required=True)
    parser.add_argument("--bin", required=True, help="the mentorat binary, to mint member tokens")
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    if not args.url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        raise SystemExit("this benchmark only targets the loopback address")
    url, hris, coord = args.url, args.hris, args.coordinator
    mentors_n = (args.pairs + 1) // 2
    if 10 + mentors_n + args.pairs > args.people:
        raise SystemExit("not enough people for that many pairs")
    started = time.perf_counter()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.threads)

    tokens = {}

    def token(ext):
        if ext not in tokens:
            tokens[ext] = subprocess.run([args.bin, "token", "--sub", ext, "--ttl", "7200"],
                                         check=True, capture_output=True, text=True).stdout.strip()
        return tokens[ext]

    people = []
    for i in range(args.people):
        manager = None if i == 0 else ("L0" if i < 10 else f"L{1 + i % 9}")
        dept = DEPARTMENTS[(i - 1) % 9] if 0 < i < 10 else DEPARTMENTS[i % 9]
        people.append({
            "external_id": f"L{i}", "given_name": f"Prénom{i}", "family_name": f"Nom{i}",
            "email": f"l{i}@chu.example", "department": dept, "job_title": "Infirmier·e",
            "site": f"Site {i % 3}", "manager_external_id": manager, "active": True,
        })
    report = call(url, hris, "POST", "/api/v1/people/import", people)
    assert report["created"] == args.people, report
    ids, cursor = {}, None
    while True:
        page = call(url, coord, "GET", "/api/v1/people?limit=200" + (f"&cursor={cursor}" if cursor else ""))
        ids.update({p["external_id"]: p["id"] for p in page["items"]})
        cursor = page.get("next_cursor")
        if not cursor:
            break

    program = call(url, coord, "POST", "/api/v1/programs",
                   {"name": "Charge 2027", "default_mentor_capacity": 2})["id"]
    call(url, coord, "POST", f"/api/v1/programs/{program}/charter-versions",
         {"text": "# Charte\nConfidentialité, non-hiérarchie, rencontres sur le lieu de travail."})

    # Mentors L10.. and mentees after them: all below L1..L9, none above another (R1).
    mentors = [f"L{10 + i}" for i in range(mentors_n)]
    mentees = [f"L{10 + mentors_n + i}" for i in range(args.pairs)]
    couples = [(mentors[k // 2], mentees[k]) for k in range(args.pairs)]
    # R1: a mentor and mentee under the same department head are fine (peers), never a chain.

    def enroll(ext, role):
        body = {"person_id": ids[ext], "role": role, "topics": [TOPICS[int(ext[1:]) % 6]],
                "languages": ["fr"]}
        if role == "mentee":
            body["goals"] = "Prendre confiance en encadrement"
        enrollment = call(url, coord, "POST", f"/api/v1/programs/{program}/enrollments", body)["id"]
        call(url, token(ext), "POST", f"/api/v1/programs/{program}/enrollments/{enrollment}/charter-acceptance",
             {"version": 1})
        return ext, enrollment

    for ext in mentors + mentees:  # tokens minted once, before the threads need them
        token(ext)
    enrollments = dict(pool.map(lambda e: enroll(*e), [(m, "mentor") for m in mentors] +
                                [(m, "mentee") for m in mentees]))

    def pair(couple):
        mentor, mentee = couple
        pid = call(url, coord, "POST", f"/api/v1/programs/{program}/pairs",
                   {"mentor_enrollment_id": enrollments[mentor],
                    "mentee_enrollment_id": enrollments[mentee]})["id"]
        for who in (mentor, mentee):
            answer = call(url, token(who), "POST", f"/api/v1/pairs/{pid}/accept", {})
        assert answer["status"] == "active", answer
        for k, (author, agreer) in enumerate([(mentee, mentor), (mentor, mentee)]):
            objective = call(url, token(author), "POST", f"/api/v1/pairs/{pid}/objectives",
                             {"title": f"Objectif {k + 1}", "description": "Mener un entretien annuel",
                              "success_criteria": "deux entretiens menés"})["id"]
            if k == 0:
                call(url, token(agreer), "POST", f"/api/v1/pairs/{pid}/objectives/{objective}/agree", {})
        now = datetime.datetime.now(datetime.timezone.utc)
        for days in (3, 17):
            call(url, token(mentee), "POST", f"/api/v1/pairs/{pid}/meetings",
                 {"starts_at": (now + datetime.timedelta(days=days)).isoformat(),
                  "duration_minutes": 45, "mode": "video", "agenda": "Point d'étape"})
        for author, visibility in ((mentee, "private"), (mentor, "private"), (mentee, "shared")):
            call(url, token(author), "POST", f"/api/v1/pairs/{pid}/notes",
                 {"body": f"Note {visibility} de {author}", "visibility": visibility})
        return pid

    pairs = list(pool.map(pair, couples))
    pool.shutdown()
    chosen = pairs[len(pairs) // 2]
    mentor, mentee = couples[len(pairs) // 2]
    print(f"seeded {args.people} people, {len(enrollments)} enrollments, {len(pairs)} active pairs "
          f"(objectives, meetings, notes) in {time.perf_counter() - started:.1f} s")
    print(json.dumps({"program": program, "pair": chosen, "mentor": mentor, "mentee": mentee}))


if __name__ == "__main__":
    main()
