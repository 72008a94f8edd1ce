from __future__ import annotations

import pytest

from core.protocol import errors


def test_every_code_maps_to_a_class_whose_code_is_known() -> None:
    for code in errors.ERROR_CODES:
        cls = errors.error_class(code)
        assert issubclass(cls, errors.RequestError)
        assert cls.code in errors.ERROR_CODES


@pytest.mark.parametrize(
    "code",
    ["compile_error", "evaluation_error", "interrupted", "timeout", "session_died", "ghc_error",
     "unknown_session", "session_limit", "unsupported", "output_limit", "unknown_op"],
)
def test_specific_codes_round_trip(code: errors.ErrorCode) -> None:
    assert errors.error_class(code).code == code


def test_protocol_error_is_abstract() -> None:
    with pytest.raises(TypeError):
        errors.ProtocolError("x")
    assert str(errors.RemoteProtocolError("bad")) == "bad"


def test_timeout_error_is_also_the_builtin() -> None:
    exc = errors.TimeoutError_("slow")
    assert isinstance(exc, TimeoutError)
    assert str(exc) == "slow"


def test_details_are_reachable_from_the_exception() -> None:
    info = errors.ExceptionInfo("ErrorCall", "boom")
    exc = errors.EvaluationError("boom", details=errors.ErrorDetails(exception=info))
    assert exc.exception == info and exc.diagnostics == () and exc.replayed == ()
