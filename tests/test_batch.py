"""A batch from the server's JSON: a wrong answer is a BatchError, never a crash."""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.batch import Batch, BatchError, normalise_feature_code

GOOD: dict[str, Any] = {"feature_code": "1S95KT", "school_code": "10001", "school_name": "示范大学",
                        "start_date": "2026-06-01", "end_date": "2026-06-02"}


def test_a_good_batch_round_trips() -> None:
    batch = Batch.from_json(GOOD)
    assert Batch.from_json(batch.to_json()) == batch
    assert batch.allows("codeless")


@pytest.mark.parametrize(
    "change",
    [{"feature_code": 12345}, {"feature_code": ["1S95KT"]}, {"feature_code": "x"}, {"school_name": None},
     {"fee_required": "yes"}, {"methods": "code"}, {"methods": [1, 2]}, {"hours": 8}],
)
def test_a_wrong_field_is_a_batch_error(change: dict[str, Any]) -> None:
    with pytest.raises(BatchError):
        Batch.from_json({**GOOD, **change})


def test_missing_fields_are_a_batch_error() -> None:
    with pytest.raises(BatchError):
        Batch.from_json({"feature_code": "1S95KT"})


@pytest.mark.parametrize(("typed", "code"), [(" 1s95kt ", "1S95KT"), ("abcd", "ABCD")])
def test_feature_codes_are_normalised(typed: str, code: str) -> None:
    assert normalise_feature_code(typed) == code


@pytest.mark.parametrize("typed", ["abc", "ABCDEFGHI", "1S9-5KT", ""])
def test_bad_feature_codes_are_refused(typed: str) -> None:
    with pytest.raises(BatchError):
        normalise_feature_code(typed)
