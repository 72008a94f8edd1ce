"""Both ends of a connection paired over a fake link: handshake, ids, bad input."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.protocol import (
    END_OF_STREAM,
    NEED_DATA,
    ClientConnection,
    RequestRejected,
    ServerConnection,
    encode_frame,
)
from core.protocol import messages as m
from core.protocol.errors import LocalProtocolError, RemoteProtocolError


def server(token: str | None = None) -> ServerConnection:
    return ServerConnection(server_version="t", ghc_version="9.0.2", token=token)


def events(conn: ServerConnection, data: bytes) -> list[object]:
    conn.receive_data(data)
    out = []
    while (event := conn.next_event()) is not NEED_DATA and event is not END_OF_STREAM:
        out.append(event)
    return out


def ready_pair() -> tuple[ClientConnection, ServerConnection]:
    client, srv = ClientConnection(), server()
    (hello,) = events(srv, client.send(m.Hello(id=0, protocol_version=m.PROTOCOL_VERSION)))
    assert isinstance(hello, m.Hello)
    client.receive_data(srv.welcome(hello))
    welcome = client.next_event()
    assert isinstance(welcome, m.Welcome) and welcome.ops == list(m.OPS)
    return client, srv


def rejection(event: object) -> m.Error:
    assert isinstance(event, RequestRejected)
    return event.error


def test_handshake_and_one_request_with_streamed_output() -> None:
    client, srv = ready_pair()
    (request,) = events(srv, client.send(m.ExecStmt(id=5, session="s", stmt="print 1")))
    assert isinstance(request, m.ExecStmt) and request.stmt == "print 1"
    client.receive_data(srv.send(m.Output(id=5, stream="stdout", text="1\n")))
    client.receive_data(srv.send(m.ExecResult(id=5, names=["it"])))
    first, second = client.next_event(), client.next_event()
    assert isinstance(first, m.Output) and first.text == "1\n"
    assert isinstance(second, m.ExecResult) and second.names == ["it"]
    assert client.pending == frozenset() and srv.pending == frozenset()


def test_a_second_final_reply_is_our_bug() -> None:
    client, srv = ready_pair()
    events(srv, client.send(m.ListSessions(id=1)))
    srv.send(m.SessionsResult(id=1, sessions=[]))
    with pytest.raises(LocalProtocolError, match="not in flight"):
        srv.send(m.Done(id=1))
    with pytest.raises(LocalProtocolError):
        srv.send(m.Output(id=1, stream="stdout", text="late"))


def test_a_reply_too_large_for_a_frame_leaves_its_request_in_flight() -> None:
    client, srv = ready_pair()
    events(srv, client.send(m.ExecStmt(id=1, session="s", stmt="x")))
    srv.max_frame = 200
    with pytest.raises(ValueError, match="exceeds the maximum"):
        srv.send(m.ExecResult(id=1, names=["x" * 300]))
    assert srv.is_pending(1)
    client.receive_data(srv.send(m.Error(id=1, code="output_limit", message="too large")))
    assert isinstance(client.next_event(), m.Error) and not srv.is_pending(1)


def test_output_rides_only_in_an_exec_result_after_its_own() -> None:
    client, srv = ready_pair()
    events(srv, client.send(m.ExecStmt(id=1, session="s", stmt="x")))
    events(srv, client.send(m.RunDecls(id=2, session="s", decls="f = 1")))
    chunk = m.OutputChunk(stream="stdout", text="b")
    with pytest.raises(LocalProtocolError, match="cannot carry output"):
        srv.send(m.DeclsResult(id=2, names=["f"]), output=[chunk])
    own = m.OutputChunk(stream="stderr", text="a")
    client.receive_data(srv.send(m.ExecResult(id=1, names=[], output=[own]), output=[chunk]))
    reply = client.next_event()
    assert isinstance(reply, m.ExecResult) and reply.output == [own, chunk]


def test_requests_before_hello_are_refused_but_the_connection_lives() -> None:
    srv = server()
    err = rejection(events(srv, encode_frame({"op": "list_sessions", "id": 3}))[0])
    assert err.code == "handshake_required" and err.id == 3
    client = ClientConnection()
    (hello,) = events(srv, client.send(m.Hello(id=0, protocol_version=m.PROTOCOL_VERSION)))
    assert isinstance(hello, m.Hello)


def test_version_mismatch_closes() -> None:
    srv = server()
    (event,) = events(srv, encode_frame({"op": "hello", "id": 0, "protocol_version": 99}))
    assert isinstance(event, RequestRejected) and event.close
    assert event.error.code == "version_mismatch"


@pytest.mark.parametrize("given_token", [None, "wrong", "secreT"])
def test_bad_token_is_refused(given_token: str | None) -> None:
    srv = server(token="secret")
    frame = {"op": "hello", "id": 0, "protocol_version": m.PROTOCOL_VERSION, "token": given_token}
    (event,) = events(srv, encode_frame(frame))
    assert rejection(event).code == "unauthorized" and isinstance(event, RequestRejected)
    assert event.close


def test_good_token_is_accepted() -> None:
    srv = server(token="secret")
    frame = {"op": "hello", "id": 0, "protocol_version": m.PROTOCOL_VERSION, "token": "secret"}
    (event,) = events(srv, encode_frame(frame))
    assert isinstance(event, m.Hello)


@pytest.mark.parametrize(
    ("frame", "code", "rid"),
    [
        ({"op": "frobnicate", "id": 4}, "unknown_op", 4),
        ({"op": "exec_stmt", "id": 4, "session": "s", "stmt": "x", "extra": 1},
         "invalid_message", 4),
        ({"op": "exec_stmt", "id": 4, "session": "s", "stmt": 42}, "invalid_message", 4),
        ({"op": "exec_stmt", "id": "4", "session": "s", "stmt": "x"}, "invalid_message", None),
        ({"op": "exec_stmt", "id": -1, "session": "s", "stmt": "x"}, "invalid_message", None),
        ({"op": "exec_stmt", "id": 4, "session": "s"}, "invalid_message", 4),
        ({"op": "exec_stmt", "id": 4, "session": "", "stmt": "x"}, "invalid_message", 4),
        ({"op": "expr_type", "id": 4, "session": "s", "expr": "x", "mode": "bogus"},
         "invalid_message", 4),
        ({"id": 4}, "invalid_message", 4),
        ({"op": 3, "id": 4}, "invalid_message", 4),
        ({b"op": "hello"}, "invalid_message", None),
    ],
)
def test_invalid_messages_get_a_clear_error_and_the_connection_lives(
    frame: dict[object, object], code: str, rid: int | None
) -> None:
    client, srv = ready_pair()
    body = msgpack.packb(frame, use_bin_type=True)
    (event,) = events(srv, len(body).to_bytes(4, "big") + body)
    err = rejection(event)
    assert (err.code, err.id) == (code, rid)
    assert err.message
    if code == "invalid_message" and "op" in frame and frame.get("op") == "exec_stmt":
        assert err.details.problems, "validation problems are listed"
    (ok,) = events(srv, client.send(m.ListSessions(id=9)))
    assert isinstance(ok, m.ListSessions)


def test_duplicate_request_id_in_flight() -> None:
    client, srv = ready_pair()
    events(srv, client.send(m.ListSessions(id=1)))
    err = rejection(events(srv, encode_frame({"op": "list_sessions", "id": 1}))[0])
    assert err.code == "busy" and "1" in err.message


def test_client_refuses_replies_for_unknown_requests() -> None:
    client, _srv = ready_pair()
    client.receive_data(encode_frame({"op": "done", "id": 77}))
    with pytest.raises(RemoteProtocolError, match="unknown request"):
        client.next_event()


def test_client_refuses_garbage() -> None:
    client, _ = ready_pair()
    client.receive_data(encode_frame({"op": "done"}))
    with pytest.raises(RemoteProtocolError, match="invalid reply"):
        client.next_event()


def test_client_must_say_hello_first_and_once() -> None:
    client = ClientConnection()
    with pytest.raises(LocalProtocolError, match="hello first"):
        client.send(m.ListSessions(id=1))
    client.send(m.Hello(id=0, protocol_version=1))
    with pytest.raises(LocalProtocolError, match="already"):
        client.send(m.Hello(id=1, protocol_version=1))


def test_connection_level_errors_reach_the_client() -> None:
    client, srv = ready_pair()
    (event,) = events(srv, (10**9).to_bytes(4, "big"))
    assert isinstance(event, RequestRejected) and not event.close
    client.receive_data(event.data)
    reply = client.next_event()
    assert isinstance(reply, m.Error) and reply.id is None and reply.code == "invalid_frame"


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_server_never_raises_on_random_bytes(data: bytes) -> None:
    _, srv = ready_pair()
    srv.receive_data(data)
    srv.receive_data(b"")
    for _ in range(len(data) + 2):
        event = srv.next_event()
        if event is END_OF_STREAM or event is NEED_DATA:
            break
        assert isinstance(event, RequestRejected | m.Hello) or hasattr(event, "op")


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(["op", "id", "session", "stmt", "expr", "x"]),
        st.one_of(
            st.integers(min_value=-(2**63), max_value=2**64 - 1),  # what msgpack can carry
            st.text(max_size=5),
            st.none(),
            st.binary(),
            st.sampled_from(list(m.OPS)),
        ),
        max_size=5,
    )
)
def test_server_answers_every_mutated_map(frame: dict[str, object]) -> None:
    _, srv = ready_pair()
    (event,) = events(srv, encode_frame(frame))
    assert isinstance(event, RequestRejected) or hasattr(event, "op")
