"""The relay of ``bench.floor``, run as a script: a process between a driver and GHCi that does
as little as one can per call, in one of four modes (``_relay.py bytes|msgpack|models|msgspec``).

* ``bytes``: reads a length-prefixed statement, sends it to GHCi (``bench.raw_ghci``, the
  shim's flags), writes GHCi's answer back length-prefixed. No decoding at all.
* ``msgpack``: the shim's frames (``core.protocol.framing``) carrying plain maps shaped like
  ``exec_stmt`` and ``exec_result``, decoded and encoded, never validated.
* ``models``: the shim's messages: the request validated into an ``ExecStmt``, the answer
  built as an ``ExecResult`` (its output folded in) and encoded as the server does.
* ``msgspec``: the same two messages as msgspec structs of the same shape (strict, no
  unknown fields), decoded and validated in one pass: what a compiled codec would cost.

Blocking reads, no event loop, no sessions. It keeps to the last usable CPU and its GHCi off
it, as ``ghc-shim serve`` places itself and its sessions.
"""

from __future__ import annotations

import os
import sys

from bench.raw_ghci import SHIM_FLAGS, RawGhci
from core.protocol import messages as m
from core.protocol.connection import encode_message
from core.protocol.framing import NEED_DATA, FrameDecoder, encode_frame


def read_body(fd: int) -> bytes:
    """One length-prefixed body."""
    return read_exact(fd, int.from_bytes(read_exact(fd, 4), "big"))


def read_exact(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def read_frame(fd: int, decoder: FrameDecoder) -> dict[object, object]:
    while (frame := decoder.next_frame()) is NEED_DATA:
        data = os.read(fd, 1 << 16)
        if not data:
            raise EOFError
        decoder.receive_data(data)
    assert isinstance(frame, dict), frame
    return frame


def main(mode: str) -> None:
    cpu = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    ghci = RawGhci(SHIM_FLAGS, driver_cpu=cpu)
    decoder = FrameDecoder()
    if mode == "msgspec":
        from bench import _msgspec_messages as ms
    os.write(1, b"R")
    try:
        while True:
            if mode == "bytes":
                answer = ghci.command(read_body(0).decode())
                os.write(1, len(answer).to_bytes(4, "big") + answer)
            elif mode == "msgspec":
                request = ms.decode_request(read_body(0))
                text = ghci.command(request.stmt).decode()
                os.write(1, ms.encode(ms.ExecResult(id=request.id, names=["it"],
                                                    output=[ms.OutputChunk("stdout", text)])))
            elif mode == "msgpack":
                frame = read_frame(0, decoder)
                text = ghci.command(str(frame["stmt"])).decode()
                os.write(1, encode_frame({
                    "op": "exec_result", "id": frame["id"], "names": ["it"], "allocation": 0,
                    "exception": None, "truncated": False, "warnings": [],
                    "output": [{"stream": "stdout", "text": text}],
                }))
            else:
                validated = m.REQUEST_ADAPTER.validate_python(read_frame(0, decoder))
                assert isinstance(validated, m.ExecStmt)
                text = ghci.command(validated.stmt).decode()
                os.write(1, encode_message(m.ExecResult(
                    id=validated.id, names=["it"],
                    output=[m.OutputChunk(stream="stdout", text=text)],
                )))
    except EOFError:
        ghci.close()


if __name__ == "__main__":
    main(sys.argv[1])
