from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
import redis

from jobcast import BusUnavailableError, InvalidEventError, JobcastError, Publisher


def snapshot(client: Any, prefix: str, id: str) -> Any:
    return json.loads(client.get(f"{prefix}job:{{{id}}}"))


def test_every_verb_publishes_its_status_and_after_the_end_nothing(client: Any, prefix: str) -> None:
    jobs = Publisher(client, prefix)
    steps = [
        jobs.queued("export-1", message="waiting"),
        jobs.active("export-1"),
        jobs.progress("export-1", 40, message="Exported 400 of 1000 rows", data={"processed": 400, "total": 1000}),
        jobs.complete("export-1", {"downloadUrl": "/files/export-1.csv"}),
    ]
    assert [(s.event["status"], s.event.get("progress")) for s in steps] == [("queued", None), ("active", None), ("active", 40), ("completed", 100)]
    assert steps[2].event["data"] == {"processed": 400, "total": 1000}
    assert snapshot(client, prefix, "export-1")["result"] == {"downloadUrl": "/files/export-1.csv"}
    seqs = [s.event["seq"] for s in steps]
    assert seqs == sorted(set(seqs))
    late = jobs.cancel("export-1")
    assert (late.published, late.reason, late.event["status"]) == (False, "terminal", "completed")


def test_fail_takes_a_string_a_mapping_or_an_exception(client: Any, prefix: str) -> None:
    jobs = Publisher(client, prefix)
    coded = OSError("disk full")
    setattr(coded, "code", "ENOSPC")
    errors = [
        jobs.fail("f1", "boom").event["error"],
        jobs.fail("f2", {"message": "m", "code": "c"}).event["error"],
        jobs.fail("f3", coded).event["error"],
        jobs.fail("f4", ValueError("plain")).event["error"],
    ]
    assert errors == [{"message": "boom"}, {"message": "m", "code": "c"}, {"message": "disk full", "code": "ENOSPC"}, {"message": "plain"}]


def test_pretty_data_and_unicode_are_stored_compact(client: Any, prefix: str) -> None:
    jobs = Publisher(client, prefix)
    before = int(time.time() * 1000)
    jobs.progress("u1", 12.5, message="Größe ✓\nzweite Zeile", data={"rows": [], "nested": {}})
    stored = client.get(f"{prefix}job:{{u1}}").decode("utf-8")
    assert "\n" not in stored and '"rows":[]' in stored and '"nested":{}' in stored
    event = json.loads(stored)
    assert event["message"] == "Größe ✓\nzweite Zeile"
    assert event["ts"] >= before


@pytest.mark.parametrize(
    "call, code, field",
    [
        (lambda jobs: jobs.progress("r1", 140), "invalid_event", "progress"),
        (lambda jobs: jobs.publish({"id": "r1", "status": "running"}), "invalid_event", "status"),
        (lambda jobs: jobs.active("bad id"), "invalid_job_id", "id"),
        (lambda jobs: jobs.publish({"id": "r1", "status": "active", "colour": "red"}), "invalid_event", "colour"),
        (lambda jobs: jobs.progress("r1", float("nan")), "invalid_event", "event"),
        (lambda jobs: jobs.complete("r1", {"when": object()}), "invalid_event", "event"),
    ],
)
def test_refused_events_raise_typed_errors(client: Any, prefix: str, call: Any, code: str, field: str) -> None:
    with pytest.raises(InvalidEventError) as raised:
        call(Publisher(client, prefix))
    assert (raised.value.code, raised.value.field) == (code, field)
    assert str(raised.value).startswith("[jobcast] ")
    assert client.exists(f"{prefix}job:{{r1}}") == 0


def test_a_resent_event_is_answered_with_its_first_outcome(client: Any, prefix: str) -> None:
    jobs = Publisher(client, prefix)
    first = jobs.complete("x1", {"n": 1}, ts=5)
    again = jobs.complete("x1", {"n": 1}, ts=5)
    assert again.published and again.event == first.event


def test_bad_options_and_missing_scripts_are_config_errors(client: Any) -> None:
    with pytest.raises(JobcastError, match=r"retry_for must be a positive number"):
        Publisher(client, retry_for=0)
    with pytest.raises(JobcastError, match=r"^\[jobcast\] cannot read /nowhere/publish\.lua: pass lua_dir="):
        Publisher(client, lua_dir="/nowhere")


def test_waits_out_a_redis_restart_and_restores_the_final_states_it_lost(private_redis: Any) -> None:
    client = redis.Redis(port=private_redis.port, socket_connect_timeout=0.5)
    jobs = Publisher(client, retry_for=20)
    jobs.complete("done-before", {"downloadUrl": "/files/a.csv"})
    jobs.progress("running", 50)
    private_redis.kill()
    restarter: threading.Thread = private_redis.restart_later(0.8)
    started = time.monotonic()
    outcome = jobs.progress("running", 60)
    assert time.monotonic() - started > 0.5, "the call waited for Redis"
    restarter.join()
    assert outcome.published
    check = redis.Redis(port=private_redis.port)
    restored = json.loads(check.get("jobcast:job:{done-before}"))
    assert (restored["status"], restored["result"]) == ("completed", {"downloadUrl": "/files/a.csv"})
    assert json.loads(check.get("jobcast:job:{running}"))["progress"] == 60
    assert sorted(jobs.remembered_jobs()) == ["done-before", "running"]
    assert not jobs.cancel("done-before").published


def test_gives_up_after_retry_for_with_bus_unavailable(private_redis: Any) -> None:
    client = redis.Redis(port=private_redis.port, socket_connect_timeout=0.2)
    jobs = Publisher(client, retry_for=0.4)
    private_redis.kill()
    started = time.monotonic()
    with pytest.raises(BusUnavailableError, match=r"unreachable for 0\.4 s \(retry_for\)") as raised:
        jobs.progress("lost", 10)
    assert raised.value.code == "bus_unavailable"
    assert 0.3 < time.monotonic() - started < 2


def test_forgets_events_after_remember_for(client: Any, prefix: str) -> None:
    now = [0.0]
    jobs = Publisher(client, prefix, remember_for=10, max_remembered=2, clock=lambda: now[0])
    jobs.queued("a")
    now[0] = 5
    jobs.queued("b")
    jobs.queued("c")
    assert jobs.remembered_jobs() == ["b", "c"]
    now[0] = 16
    assert jobs.remembered_jobs() == []
