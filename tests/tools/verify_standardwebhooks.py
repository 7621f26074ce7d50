"""Check a delivery sent by Mentorat with the `standardwebhooks` library (PyPI), outside CI.

    MENTORAT_WEBHOOK_SAMPLE=/tmp/sample.json cargo nextest run -p mentorat-tests \
        -E 'test(a_rotated_secret_signs_beside_the_new_one_for_a_day)'
    python -m venv /tmp/swh && /tmp/swh/bin/pip install standardwebhooks
    /tmp/swh/bin/python tests/tools/verify_standardwebhooks.py /tmp/sample.json

The sample is a message sent during a rotation: it must verify under each of the two secrets
(the library accepts a message when any one of the space-separated signatures matches).
"""

import json
import sys

from standardwebhooks.webhooks import Webhook

sample = json.load(open(sys.argv[1]))
for secret in sample["secrets"]:
    # Raises WebhookVerificationError when no signature matches (or the timestamp is stale).
    Webhook(secret).verify(sample["body"], sample["headers"])
    print(f"verified under secret #{sample['secrets'].index(secret) + 1}")
try:
    Webhook("whsec_" + "QUJD" * 8).verify(sample["body"], sample["headers"])
except Exception as e:  # noqa: BLE001
    print(f"a wrong secret is refused: {type(e).__name__}")
else:
    sys.exit("a wrong secret verified")
