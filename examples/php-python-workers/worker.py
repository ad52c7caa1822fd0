#!/usr/bin/env python3
"""A Python worker: takes the export requests examples/seed-app pushes to a Redis list and
reports their progress with jobcast.Publisher, ending with the file's download link.

Run: JOBCAST_REDIS_URL=redis://127.0.0.1:6379 python3 examples/php-python-workers/worker.py [--once]
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import quote

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "producers" / "python"))
from jobcast import DEFAULT_PREFIX, JobcastError, Publisher  # noqa: E402

#: The Redis list the seed app pushes export requests to.
QUEUE_KEY = "jobcast-example:exports"


def run_export(jobs: Publisher, job_id: str, rows: int, step_ms: int, steps: int = 10) -> None:
    """One simulated export: ``active`` steps, then ``completed`` with a download link."""
    jobs.active(job_id, progress=0, message="Starting export (Python worker)")
    for step in range(1, steps):
        time.sleep(step_ms / 1000)
        processed = rows * step // steps
        jobs.progress(
            job_id,
            100 * step // steps,
            message=f"Exported {processed} of {rows} rows",
            data={"processed": processed, "total": rows, "worker": "python"},
        )
    time.sleep(step_ms / 1000)
    jobs.complete(job_id, {"downloadUrl": f"/downloads/{quote(job_id)}.csv", "rows": rows}, message=f"Exported {rows} rows")


def main() -> None:
    url = os.environ.get("JOBCAST_REDIS_URL", "redis://127.0.0.1:6379")
    step_ms = int(os.environ.get("JOBCAST_STEP_MS", "200"))
    once = "--once" in sys.argv
    # BRPOP blocks its connection, so the queue gets its own client; the publisher has another.
    jobs = Publisher(redis.Redis.from_url(url), os.environ.get("JOBCAST_PREFIX", DEFAULT_PREFIX))
    queue = redis.Redis.from_url(url)
    print(f"worker.py: waiting for exports on {url} (list {QUEUE_KEY})", flush=True)
    while True:
        try:
            popped = queue.brpop([QUEUE_KEY], timeout=1)
        except redis.ConnectionError as error:
            print(f"[jobcast] worker.py: {error}, retrying", file=sys.stderr, flush=True)
            time.sleep(0.5)
            continue
        if popped is None:
            continue
        request = json.loads(popped[1])
        job_id = str(request["jobId"])
        print(f"worker.py: running {job_id}", flush=True)
        try:
            run_export(jobs, job_id, int(request.get("rows", 1000)), step_ms)
            print(f"worker.py: {job_id} completed", flush=True)
        except JobcastError as error:
            print(str(error), file=sys.stderr, flush=True)
            try:
                jobs.fail(job_id, error)
            except JobcastError:
                pass
        if once:
            break


if __name__ == "__main__":
    main()
