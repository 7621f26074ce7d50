"""The third-party SCIM conformance suite scim2-tester against a running Mentorat.

Reads MENTORAT_URL and MENTORAT_TOKEN_HRIS; runs every check scim2-tester has on /scim/v2
and exits non-zero if any ends in ERROR (or CRITICAL). Called by .ci/scim.
"""

import os
import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

url = os.environ["MENTORAT_URL"].rstrip("/") + "/scim/v2"
token = os.environ["MENTORAT_TOKEN_HRIS"]
http = Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
client = SyncSCIMClient(http)
results = check_server(client, resource_types=["User"])
failed = [r for r in results if r.status in (Status.ERROR, Status.CRITICAL)]
counts = {}
for r in results:
    counts[r.status.name] = counts.get(r.status.name, 0) + 1
for r in results:
    if r.status in (Status.ERROR, Status.CRITICAL):
        print(f"{r.status.name}: {r.title}: {r.reason}")
        if r.data:
            print(f"    {r.data}")
print("scim2-tester:", ", ".join(f"{n} {k.lower()}" for k, n in sorted(counts.items())))
sys.exit(1 if failed or not results else 0)
