"""The third-party SCIM conformance suite scim2-tester against a running Mentorat.

Reads MENTORAT_URL and MENTORAT_TOKEN_HRIS; runs every check scim2-tester has on the Users
of /scim/v2 and exits non-zero if any ends in ERROR or CRITICAL, but for the known
deviations listed in KNOWN (each one a choice README "SCIM provisioning" explains). The
suite fills attributes with random values, so a known deviation shows in some runs and not
in others (a random `type` may happen to be `work`). Called by .ci/scim.
"""

import os
import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

# (check, attribute or None): why it is not fixed. Empty: scim2-tester passes with no error
# (issue 14); a deviation added here must be a choice README "SCIM provisioning" explains.
KNOWN: set = set()

url = os.environ["MENTORAT_URL"].rstrip("/") + "/scim/v2"
token = os.environ["MENTORAT_TOKEN_HRIS"]
http = Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
results = check_server(SyncSCIMClient(http), resource_types=["User"])

counts = {}
unexpected = []
seen_known = set()
for r in results:
    counts[r.status.name] = counts.get(r.status.name, 0) + 1
    if r.status not in (Status.ERROR, Status.CRITICAL):
        continue
    attribute = r.data.get("urn") if isinstance(r.data, dict) else None
    key = (r.title, attribute)
    if key in KNOWN:
        seen_known.add(key)
        print(f"known deviation: {r.title} {attribute or ''}: {r.reason.splitlines()[0]}")
    else:
        unexpected.append(r)
        print(f"{r.status.name}: {r.title}: {r.reason}")
        if r.data:
            print(f"    {r.data}")
print("scim2-tester:", ", ".join(f"{n} {k.lower()}" for k, n in sorted(counts.items())))
sys.exit(1 if unexpected or not results else 0)
