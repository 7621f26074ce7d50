"""schemathesis hooks for Mentorat (loaded by schemathesis.toml; run by .ci/schemathesis).

Two kinds, each explained where it stands:

* `before_call` teaches the generator the few rules JSON Schema cannot write down — rules
  between two fields, or inside a CSV body. The document states each of them in words; without
  the hook the fuzzer would draw inputs that break them and report the (documented) refusal as
  "valid data rejected".
* `filter_failure` lets through exactly the excuses issue 13 allows: a `422` whose `code` is a
  domain rule's own (the data is well formed, a rule about the world said no), and a `412` to a
  well-formed `If-Match` that names another version. Nothing else is excused: a
  `422 validation_failed` to schema-valid data is still a failure.
"""

import datetime

import schemathesis

# Domain rules answered `422` with their own code (README "Conventions clients rely on"):
# schema-valid input that names things the world does not hold, or that a rule refuses.
DOMAIN_RULE_422 = {
    # an enrollment's `person_id` names no person
    "unknown_person",
    # a pair's enrollment ids are not enrollments of this program
    "unknown_enrollment",
    # a pair needs a mentor's and a mentee's enrollment (also: suggestions asked for a mentor)
    "role_mismatch",
    # R1: mentoring is non-hierarchical
    "hierarchical_pair",
    # only an active person takes part
    "person_inactive",
    # R2: an in-person meeting needs a place, never a private residence
    "location_required",
    "private_location",
    # a person's manager chain may not loop
    "manager_cycle",
    # R13: a report window still open
    "report_window_open",
}


# SCIM refusals of schema-valid input that no JSON Schema can foresee (the answer is a SCIM
# error document, `scimType` and `detail`): a filter is a grammar of its own (RFC 7644
# §3.4.2.2), not a pattern; `userName` cannot change, and a PUT's generated one is not the
# stored one; a manager link may not loop (a person their own manager included).
def _scim_excused(case, response):
    if not case.operation.path.startswith("/scim/v2") or response.status_code != 400:
        return False
    try:
        body = response.json()
    except Exception:
        return False
    if not isinstance(body, dict):
        return False
    scim_type, detail = body.get("scimType"), str(body.get("detail", ""))
    if scim_type == "invalidFilter":
        return True
    if scim_type == "mutability" and case.method.upper() == "PUT" and "cannot change" in detail:
        return True
    if scim_type == "invalidValue" and ("own manager" in detail or "manage themself" in detail):
        return True
    return False


def _code(response):
    try:
        body = response.json()
    except Exception:
        return None
    return body.get("code") if isinstance(body, dict) else None


# Sub-resources that exist only once written. schemathesis links a created resource's
# `Location` (`/api/v1/programs/{id}`) to every operation under it too, and then expects each
# to answer at once; a new program has no charter until one is written (R3): 404 is right.
WRITTEN_LATER = {
    "GET /api/v1/programs/{id}/charter-versions/current",
}


def _has_surrogates(value):
    if isinstance(value, str):
        return any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return any(_has_surrogates(k) or _has_surrogates(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_surrogates(v) for v in value)
    return False


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    kind = type(failure).__name__
    if kind == "EnsureResourceAvailability":
        return failure.not_available_with not in WRITTEN_LATER
    # A generated text holding UTF-16 surrogate code points (Python strings may; real text
    # cannot) is sent as `\\ud870\\udd67`, which JSON (RFC 8259 §7) reads as ONE character: the
    # generator counts two. Its "too long" string is the right length to the server, so its
    # acceptance is no violation.
    if kind == "AcceptedNegativeData" and _has_surrogates(case.body):
        return False
    if kind != "RejectedPositiveData":
        return True
    if _scim_excused(case, response):
        return False
    code = _code(response)
    if response.status_code == 422 and code in DOMAIN_RULE_422:
        return False
    # RFC 9110: a well-formed `If-Match` naming a version that is not the current one is
    # answered 412; the fuzzer cannot know the current ETag of what it made.
    headers = {k.lower() for k in (case.headers or {})}
    if response.status_code == 412 and code == "precondition_failed" and "if-match" in headers:
        return False
    return True


def _swap_if_not_before(container, first, second, strict):
    if not isinstance(container, dict):
        return
    a, b = container.get(first), container.get(second)
    if not (isinstance(a, str) and isinstance(b, str)):
        return
    try:
        da, db = datetime.date.fromisoformat(a), datetime.date.fromisoformat(b)
    except ValueError:
        return
    if da > db or (strict and da == db):
        container[first], container[second] = b, a
        if strict and da == db:
            container[second] = (db + datetime.timedelta(days=1)).isoformat()


CSV_HEADER = "external_id,given_name,family_name,email,department,job_title,site,manager_external_id,active\n"


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    path, method = case.operation.path, case.method.upper()
    # POST /programs (and PATCH): `ends_on` is not before `starts_on` (the schema says so
    # in words).
    if path in ("/api/v1/programs", "/api/v1/programs/{id}") and method in ("POST", "PATCH"):
        _swap_if_not_before(case.body, "starts_on", "ends_on", strict=False)
    # GET …/report: `from < to` (documented on the parameters).
    if path == "/api/v1/programs/{id}/report":
        _swap_if_not_before(case.query, "from", "to", strict=True)
    # POST /people/import as CSV: the first row names the columns (documented); the rows
    # after it are checked one by one and refused rows are reported in the 200 answer.
    if path == "/api/v1/people/import" and (case.media_type or "").startswith("text/csv"):
        if isinstance(case.body, str):
            case.body = CSV_HEADER + case.body
        elif isinstance(case.body, bytes):
            case.body = CSV_HEADER.encode() + case.body
