"""Line diffs between prompt versions (pure)."""

from __future__ import annotations

from app.prompts.diff import content_lines, diff_versions
from app.storage.postgres.tables import Prompt


def _p(version: int, prompt: str | list[dict[str, object]], config: dict[str, object]) -> Prompt:
    return Prompt(project_id="p", name="n", version=version, type="text", prompt=prompt, config=config)


def test_text_diff_shows_changed_lines_and_config() -> None:
    d = diff_versions(_p(1, "a\nb\nc", {"t": 1}), _p(2, "a\nB\nc", {"t": 1, "m": "x"}))
    assert d.changed and (d.from_version, d.to_version) == (1, 2)
    assert d.prompt[:2] == ["--- version 1", "+++ version 2"]
    assert "-b" in d.prompt and "+B" in d.prompt and " a" in d.prompt
    assert '+  "m": "x",' in d.config and '   "t": 1' in d.config


def test_chat_messages_diff_by_role_and_content() -> None:
    a: list[dict[str, object]] = [{"role": "system", "content": "Be kind."}]
    b: list[dict[str, object]] = [
        {"role": "system", "content": "Be kind.\nBe brief."},
        {"type": "placeholder", "name": "history"},
    ]
    assert content_lines(b) == ["[system]", "  Be kind.", "  Be brief.", "[placeholder] history"]
    d = diff_versions(_p(1, a, {}), _p(2, b, {}))
    assert [line for line in d.prompt if line.startswith("+") and not line.startswith("+++")] == [
        "+  Be brief.",
        "+[placeholder] history",
    ]
    assert d.config == []


def test_equal_versions_have_no_diff() -> None:
    d = diff_versions(_p(1, "same", {"a": 1}), _p(2, "same", {"a": 1}))
    assert not d.changed and d.prompt == [] and d.config == []
