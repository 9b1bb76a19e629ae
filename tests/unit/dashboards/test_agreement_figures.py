"""The agreement page's figures: a scatter of the pairs, the confusion heatmap, score names kept as data."""

from __future__ import annotations

import json

from app.analytics.score_agreement import ConfusionMatrix
from app.dashboards import figures


def test_the_scatter_shows_the_sample_and_the_line_of_equal_scores() -> None:
    fig = json.loads(figures.agreement_scatter("judge", "</script><b>human", [(0.1, 0.2), (0.9, 0.7)], 5))
    points, equal = fig["data"]
    assert (points["x"], points["y"]) == ([0.1, 0.9], [0.2, 0.7])
    assert (equal["x"], equal["y"]) == ([0.1, 0.9], [0.1, 0.9])
    assert fig["layout"]["title"]["text"] == "judge vs </script><b>human (2 of 5 pairs)"
    text = figures.agreement_scatter("judge", "</script>", [], 0)
    assert "</script>" not in text and json.loads(text)["data"][1]["x"] == [0.0, 1.0]


def test_the_heatmap_is_the_confusion_matrix_with_its_counts_written_in() -> None:
    matrix = ConfusionMatrix(("bad", "good"), ((3, 1), (0, 5)))
    fig = json.loads(figures.confusion_heatmap("judge", "human", matrix))
    [heat] = fig["data"]
    assert heat["type"] == "heatmap" and heat["x"] == heat["y"] == ["bad", "good"]
    assert heat["z"] == [[3, 1], [0, 5]] and heat["text"] == [["3", "1"], ["0", "5"]]
    assert fig["layout"]["yaxis"]["title"]["text"] == "judge"
