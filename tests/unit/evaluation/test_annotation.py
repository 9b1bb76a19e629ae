"""Reading a reviewer's values by their config's data type, and the ids of annotation scores."""

from __future__ import annotations

import pytest

from app.errors import InvalidInput
from app.evaluation.annotation import config_value, score_id
from app.storage.postgres.tables import ScoreConfig


def config(data_type: str) -> ScoreConfig:
    return ScoreConfig(project_id="p", name="grade", data_type=data_type)


@pytest.mark.parametrize(
    ("data_type", "given", "stored"),
    [
        ("NUMERIC", "0.75", 0.75),
        ("NUMERIC", " -2 ", -2.0),
        ("NUMERIC", 3, 3.0),
        ("BOOLEAN", "True", 1.0),
        ("BOOLEAN", "false", 0.0),
        ("BOOLEAN", "1", 1.0),
        ("BOOLEAN", 0, 0.0),
        ("CATEGORICAL", " good ", "good"),
        ("TEXT", "needs a source", "needs a source"),
    ],
)
def test_values_are_read_by_data_type(data_type: str, given: float | str, stored: float | str) -> None:
    assert config_value(config(data_type), given) == stored


@pytest.mark.parametrize(
    ("data_type", "given"),
    [("NUMERIC", "abc"), ("NUMERIC", "inf"), ("NUMERIC", "nan"), ("BOOLEAN", "maybe"), ("BOOLEAN", 2)],
)
def test_values_that_do_not_fit_name_the_score(data_type: str, given: float | str) -> None:
    with pytest.raises(InvalidInput, match=r"^score\.grade: "):
        config_value(config(data_type), given)


def test_one_score_id_per_queue_item_config_and_reviewer() -> None:
    one = score_id("q", "i", "c", "u")
    assert one == score_id("q", "i", "c", "u")  # saving again replaces the score
    others = {score_id("q2", "i", "c", "u"), score_id("q", "i2", "c", "u"), score_id("q", "i", "c2", "u")}
    assert one not in others | {score_id("q", "i", "c", "u2")} and len(others) == 3
