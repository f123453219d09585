"""ARI error mapping by HTTP status, and query building."""

from __future__ import annotations

import pytest

from ivr_engine.asterisk.ari import errors
from ivr_engine.asterisk.ari.http import query, seg
from ivr_engine.asterisk.constants import HANGUP_REASON_CAUSE, cause_txt, sip_to_cause
from ivr_engine.errors import IvrError


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.AriBadRequest),
        (401, errors.AriAuthError),
        (403, errors.AriAuthError),
        (404, errors.AriNotFound),
        (409, errors.AriConflict),
        (412, errors.AriInvalidState),
        (422, errors.AriUnprocessable),
        (500, errors.AriServerError),
        (503, errors.AriServerError),
        (418, errors.AriError),
    ],
)
def test_status_maps_to_typed_error(status: int, cls: type[errors.AriError]) -> None:
    err = errors.error_for_status(status, "Channel not found", "POST", "/channels/x/answer")
    assert type(err) is cls
    assert isinstance(err, IvrError)
    assert (err.status, err.message, err.method, err.path) == (
        status,
        "Channel not found",
        "POST",
        "/channels/x/answer",
    )
    assert "Channel not found" in str(err) and str(status) in str(err)


def test_connection_error_has_status_zero() -> None:
    err = errors.AriConnectionError("refused", "GET", "/asterisk/ping")
    assert err.status == 0 and isinstance(err, errors.AriError)


def test_query_drops_none_and_formats_lists_and_bools() -> None:
    assert query({"media": ["sound:a", "sound:b"], "beep": True, "x": None, "n": 3}) == {
        "media": "sound:a,sound:b",
        "beep": "true",
        "n": "3",
    }
    assert seg("a/b c") == "a%2Fb%20c"


def test_cause_tables_follow_the_protocol_page() -> None:
    assert HANGUP_REASON_CAUSE["busy"] == 17 and HANGUP_REASON_CAUSE["no_answer"] == 19
    assert cause_txt(19) == "User alerting, no answer"
    assert cause_txt(9999) == "Unknown"
    assert [sip_to_cause(c) for c in (486, 408, 480, 603, 487, 499, 599)] == [
        17,
        18,
        19,
        21,
        127,
        127,
        34,
    ]
