"""The explicit client API: connect to a server, open sessions, call operations.

``connect()`` follows ``GHC_SHIM_SERVER``: unset starts a private server over pipes (stopped
when the client closes or the program exits), ``unix:/path`` and ``tcp://host:port`` reach
running ones (the token comes from ``GHC_SHIM_TOKEN`` or ``GHC_SHIM_TOKEN_FILE``).
Must not import ``core.server``: it only speaks the protocol.
"""

from core.client.aio import AsyncClient, AsyncSession, aconnect
from core.client.results import (
    BindingInfo,
    ExecOutcome,
    Flags,
    Import,
    InfoItem,
    LoadOutcome,
    ModuleSummary,
    NameRef,
    RemoteValue,
    SessionSummary,
    Target,
    TypeAndKind,
    Value,
)
from core.client.session import Client, Session, connect
from core.protocol.errors import (
    CompileError,
    ConnectionLostError,
    EvaluationError,
    GhcUsageError,
    InterruptedError_,
    OutputLimitError,
    RequestError,
    SessionDiedError,
    SessionLimitError,
    ShimError,
    TimeoutError_,
)

__all__ = [
    "AsyncClient",
    "AsyncSession",
    "BindingInfo",
    "Client",
    "CompileError",
    "ConnectionLostError",
    "EvaluationError",
    "ExecOutcome",
    "Flags",
    "GhcUsageError",
    "Import",
    "InfoItem",
    "InterruptedError_",
    "LoadOutcome",
    "ModuleSummary",
    "NameRef",
    "OutputLimitError",
    "RemoteValue",
    "RequestError",
    "Session",
    "SessionDiedError",
    "SessionLimitError",
    "SessionSummary",
    "ShimError",
    "Target",
    "TimeoutError_",
    "TypeAndKind",
    "Value",
    "aconnect",
    "connect",
]
