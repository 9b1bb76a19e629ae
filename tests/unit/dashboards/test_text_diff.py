"""Word diffs of outputs: changed words marked, every character escaped, long texts cut and collapsed."""

from __future__ import annotations

from app.dashboards.text_diff import MAX_CHARS, SHORT, as_text, word_diff


def test_changed_words_are_marked_and_counted() -> None:
    d = word_diff("The answer is 4.", "The answer is 5, I think.")
    assert str(d.html) == "The answer is<del> 4</del><ins> 5, I think</ins>."
    assert (d.added, d.removed, d.same, d.long, d.truncated) == (4, 1, False, False, False)


def test_every_piece_is_escaped() -> None:
    hostile = "ok <script>alert('x')</script> & <b>"
    for old, new in ((hostile, "ok"), ("ok", hostile), (hostile, hostile)):
        html = str(word_diff(old, new).html)
        assert "<script" not in html and "<b>" not in html
        assert "&lt;script&gt;" in html and "&amp;" in html


def test_the_same_text_is_not_matched_and_long_texts_are_cut() -> None:
    same = word_diff("a b", "a b")
    assert same.same and str(same.html) == "a b"
    long = word_diff("x " * MAX_CHARS, "y " * MAX_CHARS)
    assert long.long and long.truncated and "first 4,000 characters" in str(long.html)
    assert len(long.preview) <= SHORT


def test_outputs_as_text() -> None:
    assert as_text(None) == "" and as_text("plain") == "plain"
    assert as_text({"b": 1, "a": [1, "é"]}) == '{\n  "a": [\n    1,\n    "é"\n  ],\n  "b": 1\n}'
