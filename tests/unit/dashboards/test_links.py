"""Langfuse link paths map to fixed local Langhouse paths; ids stay inside their path segment."""

from __future__ import annotations

import pytest

from app.dashboards.links import langfuse_target


@pytest.mark.parametrize(
    ("rest", "query", "target"),
    [
        ("", {}, "/"),
        ("/", {}, "/"),
        ("/traces", {}, "/traces"),
        ("/traces", {"peek": "t1"}, "/traces/t1"),
        ("/traces/t1", {}, "/traces/t1"),
        ("/traces/t1", {"observation": "o 1", "timestamp": "x"}, "/traces/t1?obs=o+1"),
        ("/sessions/a?b#c", {}, "/sessions/a%3Fb%23c"),
        ("/users/u1", {}, "/users/u1"),
        ("/prompts/support/triage", {"version": "3"}, "/prompts/support/triage?version=3"),
        ("/prompts/p", {"version": "latest"}, "/prompts/p"),
        ("/datasets", {}, "/datasets"),
        ("/datasets/d1", {}, "/datasets/d1"),
        ("/datasets/d1/items", {}, "/datasets/d1"),
        ("/datasets/d1/items/a/b", {}, None),
        ("/datasets/d1/items/i 1", {}, "/dataset-items/i%201"),
        ("/datasets/d1/runs", {}, "/datasets/d1/runs"),
        ("/datasets/d1/runs/r1", {}, "/experiments/r1"),
        ("/datasets/d1/other/x", {}, None),
        ("/experiments/results", {"baseline": "e1"}, None),
        ("/traces/a/b", {}, None),
    ],
)
def test_langfuse_paths_map_to_langhouse_pages(rest: str, query: dict[str, str], target: str | None) -> None:
    assert langfuse_target(rest, query) == target


@pytest.mark.parametrize(
    ("rest", "query"),
    [
        ("/traces", {"peek": "//evil.example"}),
        ("/traces", {"peek": "https://evil.example"}),
        ("/traces//evil.example", {}),
        ("/prompts//evil.example/x", {}),
        ("/sessions/\\evil.example", {}),
        ("/users/%2F%2Fevil.example", {}),
        ("//evil.example", {}),
    ],
)
def test_no_link_leaves_the_site(rest: str, query: dict[str, str]) -> None:
    target = langfuse_target(rest, query)
    assert target is None or (target.startswith("/") and not target.startswith("//") and "\\" not in target)
