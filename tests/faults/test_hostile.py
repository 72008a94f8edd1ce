"""Hostile input: bad frames, bad messages, other clients' sessions, colon commands, tokens.

Bytes are written to the server's socket directly and frames read back with the protocol's
own decoder. Every bad input must get an error reply that names the problem, and the server
(and, unless the stream itself is lost, the connection) must keep serving everyone.
"""

from __future__ import annotations

import hmac
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.client import connect
from core.protocol import connection as connection_module
from core.protocol import messages as m
from core.protocol.errors import UnauthorizedError
from core.protocol.framing import DEFAULT_MAX_FRAME, encode_frame
from tests.faults.support import (
    ROOT,
    RawConnection,
    ServerProcess,
    stdout_of,
    vm_kib,
    wait_until,
)

pytestmark = [pytest.mark.ghc, pytest.mark.timeout(120)]


def frame(body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + body


@pytest.fixture
def raw(fault_server: ServerProcess) -> Iterator[RawConnection]:
    conn = fault_server.raw()
    assert conn.hello()["op"] == "welcome"
    yield conn
    conn.close()


def assert_still_serving(conn: RawConnection) -> None:
    reply = conn.request("list_sessions")
    assert reply["op"] == "sessions", reply


def next_error(conn: RawConnection) -> dict[object, object]:
    reply = conn.recv()
    assert reply["op"] == "error", reply
    return reply


# ---------------------------------------------------------------------- frames


def test_a_frame_over_the_limit_is_refused_without_being_buffered(
    fault_server: ServerProcess, raw: RawConnection
) -> None:
    before = vm_kib(fault_server.pid, "VmRSS")
    size = DEFAULT_MAX_FRAME + 1
    raw.send_bytes(size.to_bytes(4, "big"))
    error = next_error(raw)  # refused as soon as the header arrives
    assert error["code"] == "invalid_frame" and "exceeds the maximum" in str(error["message"])
    chunk = b"\xc1" * (1 << 20)
    peak = before
    for start in range(0, size, len(chunk)):
        raw.send_bytes(chunk[: size - start])
        peak = max(peak, vm_kib(fault_server.pid, "VmRSS"))
    assert (peak - before) * 1024 < size // 4, f"server RSS grew by {(peak - before) >> 10} MiB"
    assert_still_serving(raw)  # its bytes were skipped: the stream is in step again


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xc1", "undecodable"),  # a byte msgpack never uses
        (b"\x92\x01", "undecodable"),  # an array cut short
        (b"\x81\xa2op", "undecodable"),  # a map cut short
        (b"\x93\x01\x02\x03", "must hold a map"),
        (b"\xa5hello", "must hold a map"),
        (b"", "undecodable"),
        (os.urandom(64), ""),
    ],
    ids=["reserved-byte", "short-array", "short-map", "array", "string", "empty", "random"],
)
def test_undecodable_frames(raw: RawConnection, body: bytes, reason: str) -> None:
    raw.send_bytes(frame(body))
    error = next_error(raw)
    assert error["id"] is None
    assert error["code"] in ("invalid_frame", "invalid_message", "unknown_op")
    assert reason in str(error["message"])
    assert_still_serving(raw)


def test_bytes_that_are_not_frames_at_all(fault_server: ServerProcess) -> None:
    """An HTTP request: its first 4 bytes read as a 1.2 GB length. That connection is lost
    (after one error reply), nobody else's is."""
    other = fault_server.raw()
    assert other.hello()["op"] == "welcome"
    victim = fault_server.raw()
    victim.send_bytes(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    error = next_error(victim)
    assert error["code"] == "invalid_frame"
    victim.close()
    assert_still_serving(other)
    other.close()


@pytest.mark.parametrize(
    ("message", "code", "in_message"),
    [
        ({}, "invalid_message", "string 'op'"),
        ({"op": 5, "id": 3}, "invalid_message", "string 'op'"),
        ({"op": "exec_stmt", "id": 7}, "invalid_message", "invalid 'exec_stmt'"),
        ({"op": "list_sessions", "id": 8, "extra": 1}, "invalid_message", "invalid"),
        ({"op": "list_sessions", "id": "9"}, "invalid_message", "invalid"),
        ({"op": "list_sessions", "id": -1}, "invalid_message", "invalid"),
        ({"op": "exec_stmt", "id": 10, "session": "x", "stmt": b"1"}, "invalid_message", ""),
        ({"op": "hello", "id": 11, "protocol_version": 1}, "invalid_message", "already"),
        ({"op": "rm_rf", "id": 12}, "unknown_op", "unknown operation 'rm_rf'"),
        ({"op": "__class__", "id": 13}, "unknown_op", "unknown operation"),
        ({"op": "output", "id": 14, "stream": "stdout", "text": "x"}, "unknown_op", ""),
    ],
)
def test_valid_msgpack_but_invalid_messages(
    raw: RawConnection, message: dict[str, object], code: str, in_message: str
) -> None:
    raw.send(message)
    error = next_error(raw)
    assert error["code"] == code
    assert in_message in str(error["message"])
    rid = message.get("id")
    if type(rid) is int and rid >= 0:
        assert error["id"] == rid  # the client can tell which request failed
    assert_still_serving(raw)


def test_requests_before_the_handshake(fault_server: ServerProcess) -> None:
    conn = fault_server.raw()
    try:
        reply = conn.request("list_sessions")
        assert reply["code"] == "handshake_required"
        assert conn.hello()["op"] == "welcome"
        assert_still_serving(conn)
    finally:
        conn.close()


def test_a_wrong_protocol_version_is_refused(fault_server: ServerProcess) -> None:
    conn = fault_server.raw()
    try:
        reply = conn.request("hello", protocol_version=m.PROTOCOL_VERSION + 1)
        assert reply["code"] == "version_mismatch"
    finally:
        conn.close()


# ---------------------------------------------------------------------- sessions


def test_a_session_belongs_to_its_connection(fault_server: ServerProcess) -> None:
    owner, intruder = fault_server.raw(), fault_server.raw()
    try:
        owner.hello()
        intruder.hello()
        sid = owner.request("open_session")["session"]
        assert owner.request("exec_stmt", session=sid, stmt="let secret = 42 :: Int")[
            "op"
        ] == "exec_result"
        for op, fields in [
            ("exec_stmt", {"stmt": "print secret"}),
            ("dyn_compile_expr", {"expr": "secret"}),
            ("get_bindings", {}),
            ("interrupt", {}),
            ("close_session", {}),
        ]:
            reply = intruder.request(op, session=sid, **fields)
            assert reply["code"] == "unknown_session", (op, reply)
            assert "secret" not in str(reply)
        assert intruder.request("list_sessions")["sessions"] == []
        reply = owner.request("dyn_compile_expr", session=sid, expr="secret")
        assert reply["op"] == "value_result"  # untouched by the intruder
        listed = owner.request("list_sessions")["sessions"]
        assert isinstance(listed, list)
        assert [s["session"] for s in listed] == [sid]
    finally:
        owner.close()
        intruder.close()


# ---------------------------------------------------------------------- colon commands

COLON_TEXTS = [
    ":! touch {marker}",
    "  :!touch {marker}",
    ':cmd return ":! touch {marker}"',
    ':def pwn (\\_ -> return ":! touch {marker}")',
    ':set prompt "pwned> "',
    ":quit",
    "let x = 1\n:}\n:! touch {marker}",
    "let x = 1\n   :}   \n:! touch {marker}",
    "1\r\n:}\r\n:! touch {marker}",
    "do\n  print 1\n:}\n:! touch {marker}\n:{",
]
# Not colon commands for GHCi (it reads lines ending in "\n" and ends a block only at ":}"):
# they need not be errors everywhere, but nothing may run.
SMUGGLED_TEXTS = [
    "print 1\n:! touch {marker}",
    "id\n:! touch {marker}",
    "id\r:! touch {marker}",
    "id\r\n:! touch {marker}",
    "id\u2028:! touch {marker}",
    "id -- \n:! touch {marker}",
    "{-\n:! touch {marker}\n-}",
]
TEXT_FIELDS = [
    ("exec_stmt", "stmt"),
    ("run_decls", "decls"),
    ("dyn_compile_expr", "expr"),
    ("compile_expr", "expr"),
    ("expr_type", "expr"),
    ("type_kind", "type"),
    ("get_info", "name"),
    ("parse_name", "name"),
]


def test_user_text_never_reaches_ghci_as_a_colon_command(
    fault_server: ServerProcess, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    conn = fault_server.raw()
    try:
        conn.hello()
        sid = conn.request("open_session")["session"]
        for template in COLON_TEXTS:
            text = template.replace("{marker}", str(marker))
            for op, field in TEXT_FIELDS:
                reply = conn.request(op, session=sid, **{field: text})
                assert reply["op"] == "error", (op, text, reply)
                assert reply["code"] == "compile_error", (op, text, reply)
            reply = conn.request("complete", session=sid, prefix=text)
            assert reply["op"] == "error" or reply["completions"] == [], reply
            reply = conn.request(
                "bind_value", session=sid, name="v", expr=text, type="Int"
            )
            assert reply["op"] == "error", reply
            # The prompt is still the server's: statements are framed as before.
            out = conn.request("dyn_compile_expr", session=sid, expr="6 * 7 :: Int")
            assert out["op"] == "value_result", (text, out)
        for template in SMUGGLED_TEXTS:
            text = template.replace("{marker}", str(marker))
            for op, field in TEXT_FIELDS:
                reply = conn.request(op, session=sid, **{field: text})
                assert reply["op"] != "error" or reply["code"] in ("compile_error", "ghc_error")
            out = conn.request("dyn_compile_expr", session=sid, expr="6 * 7 :: Int")
            assert out["op"] == "value_result", (text, out)
        assert not marker.exists()
        assert conn.request("exec_stmt", session=sid, stmt="x")["code"] == "compile_error"
    finally:
        conn.close()


@pytest.mark.parametrize(
    "flag",
    [
        "-fno-external-interpreter",
        "-ghci-script=/tmp/evil.ghci",
        "-pgmi/bin/sh",
        "-pgmL/bin/sh",
        "-e",
        "-interactive-print=System.Exit.exitFailure",
        "-fplugin=Evil",
    ],
)
def test_flags_that_would_take_the_session_from_the_server(
    raw: RawConnection, flag: str
) -> None:
    reply = raw.request("open_session", options={"flags": [flag]})
    assert reply["op"] == "error" and reply["code"] == "ghc_error", reply
    assert_still_serving(raw)


def test_set_flags_refuses_the_same_flags(raw: RawConnection) -> None:
    sid = raw.request("open_session")["session"]
    for flag in ("-fno-external-interpreter", "-ghci-script=/tmp/x", "-pgmi/bin/sh"):
        reply = raw.request("set_flags", session=sid, flags=[flag])
        assert reply["code"] == "ghc_error", reply
    reply = raw.request("dyn_compile_expr", session=sid, expr="1 + 1 :: Int")
    assert reply["op"] == "value_result"


# ---------------------------------------------------------------------- property-based

SENTINEL_BASE = 1 << 40


def _sentinel(conn: RawConnection, n: int) -> None:
    """A request with an id no mutated frame will carry; its reply must come back right."""
    rid = SENTINEL_BASE + n
    conn.send({"op": "list_sessions", "id": rid})
    reply = conn.reply_to(rid)
    assert reply["op"] == "sessions", reply


@pytest.fixture(scope="module")
def fuzz_target(fault_server: ServerProcess) -> Iterator[tuple[RawConnection, str]]:
    conn = fault_server.raw()
    conn.hello()
    sid = str(conn.request("open_session")["session"])
    yield conn, sid
    conn.close()


_counter = iter(range(1 << 30))

msgpack_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats()
    | st.text(max_size=20) | st.binary(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10) | st.integers(), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.binary(max_size=200))
def test_random_frame_bodies(fuzz_target: tuple[RawConnection, str], body: bytes) -> None:
    conn, _ = fuzz_target
    conn.send_bytes(frame(body))
    _sentinel(conn, next(_counter))


@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    op=st.sampled_from([*m.OPS, "hello", "nope"]),
    rid=st.integers(0, 1000) | msgpack_values,
    fields=st.dictionaries(
        st.sampled_from(["session", "stmt", "expr", "name", "flags", "options", "timeout",
                         "line", "imports", "targets", "refs", "prefix", "x"]),
        msgpack_values,
        max_size=4,
    ),
)
def test_random_messages(
    fuzz_target: tuple[RawConnection, str], op: str, rid: object, fields: dict[str, object]
) -> None:
    conn, _ = fuzz_target
    if op == "open_session" or op == "close_session":
        fields.pop("session", None)  # keep the session count and our session as they are
        if op == "close_session":
            op = "get_flags"
    message: dict[str, object] = {"op": op, "id": rid, **fields}
    try:
        data = msgpack.packb(message, use_bin_type=True)
    except (TypeError, ValueError, OverflowError):
        return
    conn.send_bytes(frame(data))
    _sentinel(conn, next(_counter))


@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutated_valid_frames(fuzz_target: tuple[RawConnection, str], data: st.DataObject) -> None:
    conn, sid = fuzz_target
    base = data.draw(
        st.sampled_from(
            [
                {"op": "exec_stmt", "id": 5, "session": sid, "stmt": "print 1"},
                {"op": "expr_type", "id": 6, "session": sid, "expr": "map"},
                {"op": "dyn_compile_expr", "id": 7, "session": sid, "expr": "[1, 2 :: Int]"},
                {"op": "get_flags", "id": 8, "session": sid},
                {"op": "list_sessions", "id": 9},
                {"op": "interrupt", "id": 10, "session": sid},
            ]
        )
    )
    body = bytearray(msgpack.packb(base, use_bin_type=True))
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        pos = data.draw(st.integers(0, max(0, len(body) - 1)))
        if kind == "flip" and body:
            body[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "insert":
            body[pos:pos] = bytes([data.draw(st.integers(0, 255))])
        elif kind == "delete" and body:
            del body[pos]
        elif kind == "truncate":
            del body[pos:]
    conn.send_bytes(frame(bytes(body)))
    _sentinel(conn, next(_counter))


def test_the_fuzzed_session_still_works(fuzz_target: tuple[RawConnection, str]) -> None:
    conn, sid = fuzz_target
    reply = conn.request("dyn_compile_expr", session=sid, expr="sum [1 .. 10 :: Int]")
    assert reply["op"] == "value_result", reply


# ---------------------------------------------------------------------- transports


def test_unix_socket_is_created_0600_whatever_the_umask() -> None:
    old = os.umask(0)
    try:
        server = ServerProcess()
    finally:
        os.umask(old)
    try:
        mode = os.stat(server.path).st_mode
        assert stat.S_ISSOCK(mode)
        assert stat.S_IMODE(mode) == 0o600
    finally:
        server.stop()


def _ghc_shim() -> list[str]:
    script = Path(sys.executable).with_name("ghc-shim")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from compat.cli import main; sys.exit(main())"]


def test_tcp_without_a_token_refuses_to_start() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHC_SHIM_TOKEN")}
    started = time.monotonic()
    done = subprocess.run(
        [*_ghc_shim(), "serve", "--listen", "tcp:127.0.0.1:0"],
        capture_output=True, text=True, timeout=60, env=env, cwd=ROOT,
    )
    assert done.returncode != 0
    assert "token" in done.stderr
    assert time.monotonic() - started < 30


def test_tcp_needs_the_token_and_never_logs_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tmp = tmp_path
    token = "tok-" + os.urandom(16).hex()
    token_file = tmp / "token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    log = tmp / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHC_SHIM_TOKEN")}
    proc = subprocess.Popen(
        [*_ghc_shim(), "serve", "--listen", "tcp:127.0.0.1:0", "--token-file", str(token_file),
         "--log-level", "DEBUG", "--log-file", str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT,
    )
    try:
        found: list[str] = []

        def listening() -> bool:
            assert proc.poll() is None, "the server exited"
            hit = re.search(r"serving on tcp:127\.0\.0\.1:(\d+)", log.read_text()) \
                if log.exists() else None
            if hit:
                found.append(hit.group(1))
            return bool(hit)

        assert wait_until(listening, 60)
        address = f"tcp://127.0.0.1:{found[0]}"
        monkeypatch.delenv("GHC_SHIM_TOKEN", raising=False)
        monkeypatch.delenv("GHC_SHIM_TOKEN_FILE", raising=False)
        with pytest.raises(UnauthorizedError):
            connect(address)
        monkeypatch.setenv("GHC_SHIM_TOKEN", token[:-1] + "x")
        with pytest.raises(UnauthorizedError):
            connect(address)
        monkeypatch.setenv("GHC_SHIM_TOKEN", token)
        with connect(address) as client, client.open_session() as session:
            assert stdout_of(session, "print 7") == "7\n"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert token not in log.read_text()
    assert token not in stderr.decode(errors="replace")


def test_the_token_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # what core.protocol.connection calls
    conn = connection_module.ServerConnection(
        server_version="x", ghc_version="9.0.2", token="right-token"
    )
    conn.receive_data(encode_frame(
        {"op": "hello", "id": 1, "protocol_version": m.PROTOCOL_VERSION, "token": "wrong"}
    ))
    event = conn.next_event()
    assert isinstance(event, connection_module.RequestRejected)
    assert event.error.code == "unauthorized" and event.close
    assert calls == [(b"right-token", b"wrong")]
    assert b"right-token" not in event.data
