"""Traffic summaries for the ledger and the recent-traffic window for the monitor."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from mlwarden.gateway.prediction import Prediction
from mlwarden.gateway.traffic_summary import WindowBuffer, summarise


def test_summary_holds_ranges_labels_and_confidence_but_no_raw_rows() -> None:
    inputs = np.array([[1.0, 10.0, np.nan], [3.0, 30.0, np.nan]])
    prediction = Prediction(["cat", "dog"], [[0.9, 0.1], [0.3, 0.7]])
    summary = summarise(inputs, prediction)
    assert summary == {
        "rows": 2,
        "features_total": 3,
        "features": [
            {"min": 1.0, "mean": 2.0, "max": 3.0},
            {"min": 10.0, "mean": 20.0, "max": 30.0},
            {"min": None, "mean": None, "max": None},
        ],
        "labels": {"cat": 1, "dog": 1},
        "mean_top_score": pytest.approx(0.8),
    }
    json.dumps(summary, allow_nan=False)  # strict JSON: the ledger stores it as is


def test_summary_is_capped_for_wide_inputs_and_many_labels() -> None:
    inputs = np.arange(2 * 3 * 8 * 8, dtype=np.float32).reshape(2, 3, 8, 8)
    labels = list(range(40)) * 2
    summary = summarise(np.repeat(inputs, 40, axis=0), Prediction(labels, None))
    assert summary["features_total"] == 192 and len(summary["features"]) == 32
    assert len(summary["labels"]) == 33 and summary["labels"]["other"] == 16
    assert summary["mean_top_score"] is None


def test_window_keeps_the_latest_rows_in_order_with_their_scores() -> None:
    window = WindowBuffer(capacity_rows=5)
    for start in (0, 3, 6):
        rows = np.arange(start, start + 3, dtype=np.float64).reshape(3, 1)
        window.add(rows, Prediction([0, 0, 0], [[float(v), 0.0] for v in rows[:, 0]]))
    inputs, scores = window.snapshot()
    assert inputs[:, 0].tolist() == [4.0, 5.0, 6.0, 7.0, 8.0]
    assert scores is not None and scores[:, 0].tolist() == [4.0, 5.0, 6.0, 7.0, 8.0]


def test_a_batch_larger_than_the_window_keeps_its_tail() -> None:
    window = WindowBuffer(capacity_rows=4)
    window.add(np.arange(10.0).reshape(10, 1), Prediction([0] * 10, None))
    inputs, scores = window.snapshot()
    assert inputs[:, 0].tolist() == [6.0, 7.0, 8.0, 9.0] and scores is None


def test_an_empty_window_snapshots_to_nothing() -> None:
    inputs, scores = WindowBuffer().snapshot()
    assert len(inputs) == 0 and scores is None


def test_wide_rows_shrink_the_window_to_its_memory_budget() -> None:
    window = WindowBuffer(capacity_rows=5000, max_elements=1000)
    window.add(np.zeros((1, 3, 10, 10)), Prediction([0], None))
    assert window.capacity == 3


def test_rows_of_another_shape_are_refused() -> None:
    window = WindowBuffer()
    window.add(np.zeros((1, 3)), Prediction([0], None))
    with pytest.raises(ValueError):
        window.add(np.zeros((1, 4)), Prediction([0], None))


def test_concurrent_writers_keep_rows_and_scores_aligned() -> None:
    window = WindowBuffer(capacity_rows=64)

    def writer(offset: int) -> None:
        for n in range(200):
            value = float(offset + n)
            window.add(np.array([[value, value]]), Prediction([0], [[value, -value]]))

    threads = [threading.Thread(target=writer, args=(k * 1000,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    inputs, scores = window.snapshot()
    assert len(inputs) == 64 and len(set(inputs[:, 0].tolist())) == 64
    assert scores is not None
    np.testing.assert_array_equal(inputs[:, 0], scores[:, 0])
    np.testing.assert_array_equal(inputs[:, 1], -scores[:, 1])
    assert all((inputs[:, 0] % 1000) >= 136)  # kept rows have < 64 rows added after them
