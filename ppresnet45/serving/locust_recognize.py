"""The locust user of :func:`ppresnet45.serving.loadtest.run_locust` (run by locust, not imported
by the package): each user posts one image per request as JSON, back to back.

``$PPRESNET45_LOCUST_IMAGES`` names a folder of images; a request counts as failed unless it
is a 200 with one result that has a text.
"""

import base64
import json
import os
import random

from locust import FastHttpUser, constant, task

from ppresnet45.inference.sources import list_folder_images


def _bodies():
    folder = os.environ.get("PPRESNET45_LOCUST_IMAGES")
    if not folder:
        raise SystemExit("$PPRESNET45_LOCUST_IMAGES is not set (expected a folder of images)")
    out = []
    for path in list_folder_images(folder):
        with open(path, "rb") as f:
            out.append(json.dumps({"images": [base64.b64encode(f.read()).decode()]}).encode())
    if not out:
        raise SystemExit(f"$PPRESNET45_LOCUST_IMAGES: no images in {folder}")
    return out


BODIES = _bodies()


class RecognizeUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def recognize(self):
        body = random.choice(BODIES)
        with self.client.post(
            "/v1/recognize",
            data=body,
            headers={"content-type": "application/json"},
            catch_response=True,
            name="POST /v1/recognize",
        ) as resp:
            try:
                results = resp.json()["results"] if resp.status_code == 200 else None
            except (ValueError, KeyError, TypeError):
                results = None
            if not results or len(results) != 1 or "text" not in results[0]:
                resp.failure(f"status {resp.status_code}: {resp.text[:200]}")
            else:
                resp.success()
