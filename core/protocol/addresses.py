"""Server addresses, as both sides write them.

Responsible for: parsing ``stdio``, ``embedded``, ``unix:PATH``, ``tcp:HOST:PORT`` and
``tcp://HOST:PORT`` into one ``Address`` value, for the server's ``--listen`` and the client's
``GHC_SHIM_SERVER``. Must not: open anything, or read the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Address", "parse_address"]


@dataclass(frozen=True, slots=True)
class Address:
    kind: Literal["stdio", "embedded", "unix", "tcp"]
    path: str = ""
    host: str = ""
    port: int = 0
    token: str | None = None

    @property
    def local(self) -> bool:
        """Whether the server shares this machine's files (paths are sent absolute)."""
        return self.kind != "tcp"

    def __str__(self) -> str:
        if self.kind == "unix":
            return f"unix:{self.path}"
        if self.kind == "tcp":
            return f"tcp://{self.host}:{self.port}"
        return self.kind


def parse_address(text: str) -> Address:
    """Parse an address (the token, if any, is not part of the text).

    Raises:
        ValueError: an address of no known form.
    """
    text = text.strip()
    if text in ("stdio", "embedded"):
        return Address(text)  # type: ignore[arg-type]
    if text.startswith("unix:"):
        path = text[len("unix:") :].removeprefix("//")
        if not path:
            raise ValueError("unix: needs a socket path")
        return Address("unix", path=path)
    if text.startswith(("tcp://", "tcp:")):
        rest = text.split("//", 1)[1] if text.startswith("tcp://") else text[len("tcp:") :]
        host, sep, port = rest.rpartition(":")
        if not sep or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"a tcp address needs HOST:PORT, got {text!r}")
        return Address("tcp", host=host.strip("[]") or "127.0.0.1", port=int(port))
    raise ValueError(
        f"unknown address {text!r}: expected stdio, unix:PATH, tcp:HOST:PORT or tcp://HOST:PORT"
    )
