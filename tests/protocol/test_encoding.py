"""``encode_message`` writes every message exactly as ``model_dump(by_alias=True)`` would.

Its fast path encodes a flat model's own ``__dict__``; these tests make sure no message,
whatever its fields hold (nested models, lists of them, aliased names, bytes), comes out
differently from the model's declared wire form, and that each decodes back to itself.
"""

from __future__ import annotations

import typing

import msgpack
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from core.protocol import encode_frame
from core.protocol import messages as m
from core.protocol.connection import _wire_map, encode_message
from core.protocol.framing import HEADER_SIZE


def _members(union: object) -> list[type[BaseModel]]:
    return list(typing.get_args(typing.get_args(union)[0]))


MESSAGE_CLASSES = _members(m.Request) + _members(m.Reply)


@st.composite
def messages_of(draw: st.DrawFn, cls: type[BaseModel]) -> BaseModel:
    try:
        return draw(st.builds(cls))
    except ValidationError:
        assume(False)  # a drawn value outside a field's constraints: not a message
        raise AssertionError("unreachable") from None


def _decoded(frame: bytes) -> object:
    return msgpack.unpackb(frame[HEADER_SIZE:], raw=False, strict_map_key=False)


@pytest.mark.parametrize("cls", MESSAGE_CLASSES, ids=lambda c: c.__name__)
@settings(max_examples=40, suppress_health_check=[HealthCheck.filter_too_much,
                                                  HealthCheck.too_slow])
@given(data=st.data())
def test_every_message_encodes_as_its_declared_wire_form(
    cls: type[BaseModel], data: st.DataObject
) -> None:
    message = data.draw(messages_of(cls))
    try:
        expected = encode_frame(message.model_dump(by_alias=True))
    except OverflowError:  # an int field without bounds drew more than msgpack's 64 bits
        with pytest.raises(OverflowError):
            encode_message(message)  # type: ignore[arg-type]
        return
    assert encode_message(message) == expected  # type: ignore[arg-type]
    frame = expected
    adapter = m.REQUEST_ADAPTER if cls in _members(m.Request) else m.REPLY_ADAPTER
    # Compared as bytes: a float field may hold NaN, which equals nothing.
    assert encode_message(adapter.validate_python(_decoded(frame))) == frame


def test_nested_models_are_converted_and_aliased_fields_take_model_dump() -> None:
    warning = m.Diagnostic(file="f.hs", line=1, column=1, end_line=1, end_column=2,
                           severity="warning", message="w")
    result = m.ExecResult(id=1, names=["it"], warnings=[warning])
    assert _wire_map(result) == result.model_dump()  # nested, not renamed: converted
    assert _decoded(encode_message(result))["warnings"] == [warning.model_dump()]  # type: ignore[index]
    context = m.ContextResult(id=2, imports=[m.ImportSpec(kind="decl", module="M", as_="N")])
    assert _wire_map(context) is None and _wire_map(context.imports[0]) is None
    (spec,) = _decoded(encode_message(context))["imports"]  # type: ignore[index]
    assert spec["as"] == "N" and "as_" not in spec


def test_the_hot_path_messages_are_flat() -> None:
    # What a trivial statement sends and gets back must not fall back to model_dump.
    for message in (m.ExecStmt(id=1, session="s", stmt="1 + 1"),
                    m.Output(id=1, stream="stdout", text="2\n"),
                    m.ExecResult(id=1, names=["it"])):
        assert _wire_map(message) is message.__dict__
        assert encode_message(message) == encode_frame(message.model_dump(by_alias=True))
