"""Traffic summaries for the ledger and the recent-traffic window for the monitor."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from approx_tree import assert_close

from mlwarden.gateway import traffic_summary
from mlwarden.gateway.prediction import Prediction
from mlwarden.gateway.traffic_summary import TrafficTally, WindowBuffer, summarise


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


def _requests(seed: int, count: int) -> list[tuple[np.ndarray, Prediction]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        rows = rng.normal(size=(int(rng.integers(1, 6)), 3))
        rows[rng.random(rows.shape) < 0.1] = np.nan
        labels: list[int | str | float] = [f"c{int(v)}" for v in rng.integers(0, 40, len(rows))]
        scores = rng.dirichlet([1.0, 1.0], size=len(rows)).tolist()
        out.append((rows, Prediction(labels, scores)))
    return out


@pytest.mark.parametrize("fold_rows", [1, 7, 65_536])
def test_a_tally_summarises_all_its_requests_as_one(
    fold_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(traffic_summary, "TALLY_FOLD_ROWS", fold_rows)
    requests = _requests(5, 30)
    tally = TrafficTally()
    for rows, prediction in requests:
        tally.add(rows, prediction)
    assert tally.rows == sum(len(r) for r, _p in requests)
    whole = summarise(
        np.concatenate([r for r, _p in requests]),
        Prediction(
            [label for _r, p in requests for label in p.labels],
            [row for _r, p in requests for row in p.scores or []],
        ),
    )
    summary = tally.summary()
    assert_close(summary, whole)
    assert len(summary["labels"]) == 33  # 32 labels and "other", as for one request
    json.dumps(summary, allow_nan=False)


def test_an_empty_tally_and_a_column_without_numbers() -> None:
    assert TrafficTally().summary()["rows"] == 0
    tally = TrafficTally()
    tally.add(np.array([[np.nan, 1.0]]), Prediction([0], None))
    tally.add(np.array([[np.inf, 3.0]]), Prediction([1], None))
    summary = tally.summary()
    assert summary["features"][0] == {"min": None, "mean": None, "max": None}
    assert summary["features"][1] == {"min": 1.0, "mean": 2.0, "max": 3.0}
    assert summary["mean_top_score"] is None and summary["labels"] == {"0": 1, "1": 1}


def test_a_window_sees_rows_before_they_reach_its_ring() -> None:
    window = WindowBuffer(capacity_rows=1000)
    for value in range(5):  # far fewer than a merge needs: all still pending
        window.add(np.array([[float(value)]]), Prediction([0], [[float(value), 1.0]]))
    assert len(window) == 5
    inputs, scores = window.snapshot()
    assert inputs[:, 0].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert scores is not None and scores[:, 0].tolist() == inputs[:, 0].tolist()


def test_many_small_requests_wrap_the_ring_in_order() -> None:
    window = WindowBuffer(capacity_rows=50)
    for value in range(1234):
        window.add(np.array([[float(value)]]), Prediction([0], [[float(-value)]]))
    inputs, scores = window.snapshot()
    assert inputs[:, 0].tolist() == [float(v) for v in range(1184, 1234)]
    assert scores is not None and scores[:, 0].tolist() == [-v for v in inputs[:, 0].tolist()]


def test_scores_of_another_width_are_refused() -> None:
    window = WindowBuffer()
    window.add(np.zeros((1, 2)), Prediction([0], [[0.5, 0.5]]))
    with pytest.raises(ValueError):
        window.add(np.zeros((1, 2)), Prediction([0], [[0.2, 0.3, 0.5]]))
    with pytest.raises(ValueError):
        window.add(np.zeros((1, 2)), Prediction([0], None))
