"""Target-attempt classification and the caller's final cause, as tables."""

import pytest

from ivr_engine.domain.dialing import Attempt, TargetResult, classify_cause, final_cause


@pytest.mark.parametrize(
    ("cause", "result"),
    [
        (17, TargetResult.BUSY),
        (19, TargetResult.NO_ANSWER),
        (18, TargetResult.UNREACHABLE),
        (20, TargetResult.UNREACHABLE),
        (1, TargetResult.UNREACHABLE),
        (21, TargetResult.REJECTED),
        (26, TargetResult.CANCELLED),
        (34, TargetResult.FAILED),
        (127, TargetResult.FAILED),
        (None, TargetResult.FAILED),
    ],
)
def test_classify_cause(cause: int | None, result: TargetResult) -> None:
    assert classify_cause(cause) is result


def _a(result: TargetResult) -> Attempt:
    return Attempt(target="01011112222", result=result)


@pytest.mark.parametrize(
    ("results", "cause"),
    [
        ([TargetResult.BUSY], 17),
        ([TargetResult.NO_ANSWER], 19),
        ([TargetResult.UNREACHABLE], 20),
        ([TargetResult.REJECTED], 21),
        ([TargetResult.FAILED], 34),
        ([TargetResult.UNREACHABLE, TargetResult.BUSY], 17),
        ([TargetResult.NO_ANSWER, TargetResult.UNREACHABLE], 19),
        ([TargetResult.BUSY, TargetResult.NO_ANSWER], 17),
        ([TargetResult.REJECTED, TargetResult.UNREACHABLE], 20),
        ([], 34),
    ],
)
def test_final_cause(results: list[TargetResult], cause: int) -> None:
    assert final_cause([_a(r) for r in results]) == cause
