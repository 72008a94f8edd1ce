"""The server: owns real GHCi sessions in child processes and serves the protocol.

Must not be imported by ``core.client`` (the client only speaks the protocol).
"""

from core.server.server import Server, ServerConfig
from core.server.transport import parse_listen, serve, serve_forever

__all__ = ["Server", "ServerConfig", "parse_listen", "serve", "serve_forever"]
