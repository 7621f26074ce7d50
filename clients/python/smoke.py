"""The client openapi-python-client generates from openapi/openapi.json, used against a live server.

CI (.ci/run) generates the package `mentorat_client`, puts it on PYTHONPATH and runs this with the
environment the TypeScript flow gets: MENTORAT_URL, MENTORAT_TOKEN_HRIS and
MENTORAT_TOKEN_COORDINATOR. It imports people as an HRIS connector would, reads them back as a
coordinator, and checks that a refusal parses as a problem document; any other answer exits 1.
"""

import os
import sys
import time

from mentorat_client import AuthenticatedClient, Client
from mentorat_client.api.operations import healthz
from mentorat_client.api.people import get_person, import_people, list_people
from mentorat_client.models import ImportReportDto, ImportRowInput, PaginatedPersonDto, PersonDto

passed = 0


def code_of(problem: object) -> object:
    """The `code` of a parsed problem document: each operation's problem schema lists the codes
    it answers (an enum), so the generated class is the operation's, not `Problem`."""
    code = getattr(problem, "code", None)
    return getattr(code, "value", code)


def check(condition: bool, what: str) -> None:
    global passed
    if not condition:
        print(f"FAIL after step {passed}: {what}", file=sys.stderr)
        print(f"{passed} passed, 1 failed")
        sys.exit(1)
    passed += 1
    print(f"ok   {passed:2} {what}")


def main() -> None:
    url = os.environ["MENTORAT_URL"]
    hris = AuthenticatedClient(base_url=url, token=os.environ["MENTORAT_TOKEN_HRIS"])
    coordinator = AuthenticatedClient(base_url=url, token=os.environ["MENTORAT_TOKEN_COORDINATOR"])
    run = format(int(time.time() * 1000), "x")

    health = healthz.sync_detailed(client=Client(base_url=url))
    check(health.status_code == 200, f"GET /healthz: {health.status_code}")

    rows = [
        ImportRowInput(
            external_id=f"PY-{run}-1",
            given_name="Inès",
            family_name="Moreau",
            email=f"ines.moreau.{run}@chu.example",
            department="Pédiatrie",
            site="Hôpital Sud",
            manager_external_id=f"PY-{run}-2",
        ),
        ImportRowInput(
            external_id=f"PY-{run}-2",
            given_name="Hugo",
            family_name="Petit",
            email=f"hugo.petit.{run}@chu.example",
            department="Pédiatrie",
            site="Hôpital Sud",
        ),
    ]
    imported = import_people.sync_detailed(client=hris, body=rows, idempotency_key=f"py-{run}")
    report = imported.parsed
    check(
        imported.status_code == 200 and isinstance(report, ImportReportDto),
        f"POST /people/import (JSON): {imported.status_code}",
    )
    assert isinstance(report, ImportReportDto)
    check(
        (report.created, report.updated, report.unchanged, report.errors) == (2, 0, 0, []),
        f"import report: {report.to_dict()}",
    )

    listed = list_people.sync_detailed(client=coordinator, q="Moreau", department="Pédiatrie")
    page = listed.parsed
    check(isinstance(page, PaginatedPersonDto), f"GET /people?q=Moreau: {listed.status_code}")
    assert isinstance(page, PaginatedPersonDto)
    found = [p for p in page.items if p.external_id == f"PY-{run}-1"]
    check(len(found) == 1, "the imported person is listed")
    ines = found[0]
    check(ines.manager_external_id == f"PY-{run}-2", "the manager named in the same import")

    read = get_person.sync_detailed(ines.id, client=coordinator)
    check(isinstance(read.parsed, PersonDto) and read.parsed.id == ines.id, f"GET /people/{{id}}: {read.status_code}")
    check(read.headers.get("ETag") is not None, "GET /people/{id} carries an ETag")

    forged = AuthenticatedClient(base_url=url, token="not-a-jwt")
    denied = import_people.sync_detailed(client=forged, body=rows)
    problem = denied.parsed
    check(
        denied.status_code == 401 and code_of(problem) == "unauthorized",
        f"a bad token: {denied.status_code} {getattr(problem, 'code', None)}",
    )

    print(f"{passed} passed, 0 failed")


if __name__ == "__main__":
    main()
