"""Job payloads and results travel as JSON."""

from __future__ import annotations

from app.jobs.contracts import deserialize, serialize


def test_a_failed_job_s_result_serializes_with_its_exception_as_text() -> None:
    result = {"r": ValueError("boom"), "s": False, "payload": {"key": "k"}}
    assert deserialize(serialize(result)) == {"r": "ValueError('boom')", "s": False, "payload": {"key": "k"}}
