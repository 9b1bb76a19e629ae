"""Cohen's kappa, confusion matrices and the checks on what a comparison asks for (no I/O)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from app.analytics import score_agreement as sa
from app.errors import InvalidInput


def test_kappa_of_perfect_agreement_is_one() -> None:
    assert sa.cohens_kappa([[10, 0, 0], [0, 5, 0], [0, 0, 1]]) == pytest.approx(1.0)


def test_kappa_of_agreement_by_chance_is_zero() -> None:
    # Both raters say yes half the time, independently: agreement is what chance gives.
    assert sa.cohens_kappa([[25, 25], [25, 25]]) == pytest.approx(0.0)
    # Worse than chance: always the opposite label.
    assert sa.cohens_kappa([[0, 10], [10, 0]]) == pytest.approx(-1.0)


def test_kappa_of_the_textbook_example() -> None:
    # 50 proposals read by two people (Cohen's kappa, Wikipedia): yes/yes 20, yes/no 5, no/yes 10, no/no 15.
    # p_o = 0.7, p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = 0.4.
    assert sa.cohens_kappa([[20, 5], [10, 15]]) == pytest.approx(0.4)


def test_kappa_against_a_numpy_reference() -> None:
    import numpy as np

    counts = np.array([[14, 3, 1], [2, 9, 4], [0, 5, 12]])
    n = counts.sum()
    observed = np.trace(counts) / n
    expected = float((counts.sum(axis=1) * counts.sum(axis=0)).sum()) / n**2
    assert sa.cohens_kappa(counts.tolist()) == pytest.approx((observed - expected) / (1 - expected))


def test_kappa_is_undefined_without_pairs_or_with_one_label_only() -> None:
    assert sa.cohens_kappa([]) is None
    assert sa.cohens_kappa([[0, 0], [0, 0]]) is None
    assert sa.cohens_kappa([[7]]) is None  # chance agreement is 1: nothing to correct for
    with pytest.raises(ValueError, match="square"):
        sa.cohens_kappa([[1, 2]])


def test_the_confusion_matrix_covers_every_label_either_side_gave() -> None:
    m = sa.confusion_matrix([("good", "bad", 2), ("good", "good", 5), ("ugly", "good", 1)])
    assert m.labels == ("bad", "good", "ugly")
    assert m.counts == ((0, 0, 0), (2, 5, 0), (0, 1, 0))
    assert sa.cohens_kappa(m.counts) == pytest.approx((5 / 8 - (7 * 6) / 64) / (1 - (7 * 6) / 64))
    booleans = sa.confusion_matrix([("True", "False", 1), ("False", "False", 3)])
    assert booleans.labels == ("False", "True")
    too_many = [(f"label-{i}", "x", 1) for i in range(101)]
    with pytest.raises(InvalidInput, match="too many categories"):
        sa.confusion_matrix(too_many)


def test_selectors_levels_and_tolerances_are_checked_naming_the_field() -> None:
    assert sa.selector(" judge ", "eval", " cfg ", "a") == sa.ScoreSelector("judge", "EVAL", "cfg")
    assert sa.selector("judge", "", "") == sa.ScoreSelector("judge")
    with pytest.raises(InvalidInput, match=r"^b\.name is required"):
        sa.selector("  ", None, None, "b")
    with pytest.raises(InvalidInput, match=r"^input\.a\.source must be one of API, EVAL, ANNOTATION"):
        sa.selector("judge", "HUMAN", None, "input.a")
    with pytest.raises(InvalidInput, match=r"a\.name is limited"):
        sa.selector("x" * 256)
    assert sa.level(None) == "TRACE"
    assert sa.level("session") == "SESSION"
    with pytest.raises(InvalidInput, match=r"^level must be one of TRACE, OBSERVATION, SESSION"):
        sa.level("user")
    assert sa.tolerance(None) == 0.0
    assert sa.tolerance(0.25) == 0.25
    for bad in (-0.1, math.nan, math.inf):
        with pytest.raises(InvalidInput, match=r"^tolerance must be a number"):
            sa.tolerance(bad)


def test_a_pair_cursor_is_exact_to_the_microsecond() -> None:
    from app.storage.clickhouse.queries.common import Cursor

    at = datetime(2026, 11, 20, 9, 30, 1, 123457, tzinfo=UTC)
    pair = sa.ScorePair("t/1", "o:2", None, 1.0, 0.0, "", "", at)
    found = Cursor.decode(sa.pair_cursor("OBSERVATION", pair), "DISAGREEMENT")
    assert found.value == 1_795_167_001_123_457
    assert found.id == '["t/1", "o:2"]'
    assert Cursor.decode(sa.pair_cursor("TRACE", pair), "DISAGREEMENT").id == '["t/1", ""]'
