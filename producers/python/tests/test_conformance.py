"""The conformance table (test/conformance/events.json) through the Python publisher."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import pytest

from jobcast import InvalidEventError, Publisher

TABLE = json.loads((Path(__file__).resolve().parents[3] / "test" / "conformance" / "events.json").read_text(encoding="utf-8"))
CASES = [case for case in TABLE["cases"] if "python" not in case.get("notFor", {})]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_case(case: Dict[str, Any], client: Any, prefix: str) -> None:
    publisher = Publisher(client, prefix)
    expected = case["expect"]
    if "error" in expected:
        code, field = expected["error"].split(": ")
        with pytest.raises(InvalidEventError) as raised:
            publisher.publish(case["event"])
        assert (raised.value.code, raised.value.field) == (code, field), str(raised.value)
        assert str(raised.value).startswith(f"[jobcast] {code}: {field} ")
        return
    outcome = publisher.publish(case["event"])
    assert outcome.published
    stored = client.get(f"{prefix}job:{{{case['jobId']}}}").decode("utf-8")
    assert "\n" not in stored and "\r" not in stored
    event = json.loads(stored)
    assert isinstance(event.pop("seq"), int)
    assert event == expected["stored"]


def test_the_table_has_cases_for_python() -> None:
    assert len(CASES) > 40
