"""The invocation messages of the wire protocol: one pydantic model per ``op``.

Responsible for: the shape of every message in both directions, validated strictly
(``strict=True``, ``extra="forbid"``), one discriminated union per direction with a
module-level ``TypeAdapter`` built once. Must not: perform I/O, encode bytes (that is
``framing``), or know how GHCi is driven.

Following Remote GHCi's own rule, messages carry *invocations*, never host values: a value
crosses as serialized data (``ValueResult.payload``) or as a reference name (``RefResult``).

Rules of the protocol:

* A connection starts with ``hello``; the server answers ``welcome`` (or an ``error`` and
  closes). Nothing else is served before it.
* Every request carries an ``id`` unique among the requests in flight on its connection.
  Everything the server sends about a request carries that ``id``: zero or more ``output``
  messages, then exactly one final reply (a result model or ``error``). An ``exec_result``
  may carry the end of its request's output itself (``output``, written after every
  ``output`` message of that request): a short statement's output and result then cross
  as one frame.
* Only msgpack-native types cross: ``str``, ``int``, ``float``, ``bool``, ``bytes``, ``None``,
  lists and string-keyed maps. Enumerations are ``Literal`` strings.

Protocol version history:
  1 — initial.
  2 — ``exec_result.output``: output held until the statement ended rides in its result.
  3 — ``bind_value.expr_literals``: the value written with string literals as well.
  4 — value payload format 2 (``core.protocol.payload``): lists below the top level and lazy
      ``ByteString`` in chunks, no count on a top-level list, so that a value streams.
  5 — ``interrupt.request``: an interrupt aimed at one request, which then stops only that
      request (whether it runs or still waits for its session), never the next one.
  6 — ``bind_value.blobs``: long texts of a value sent apart from its expressions, which
      read them from files instead of GHCi lexing them as literals.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from core.protocol.errors import ErrorCode

__all__ = [
    "OPS",
    "PROTOCOL_VERSION",
    "REPLY_ADAPTER",
    "REQUEST_ADAPTER",
    "AddTarget",
    "BindValue",
    "Binding",
    "BindingsResult",
    "CloseSession",
    "CompileExpr",
    "Complete",
    "Completions",
    "ContextResult",
    "DeclsResult",
    "Diagnostic",
    "Done",
    "DynCompileExpr",
    "Error",
    "ErrorDetailsModel",
    "ExceptionModel",
    "ExecResult",
    "ExecStmt",
    "ExprType",
    "FlagsResult",
    "FreeRefs",
    "GetBindings",
    "GetContext",
    "GetFlags",
    "GetInfo",
    "GetTargets",
    "Hello",
    "ImportSpec",
    "InfoItem",
    "InfoResult",
    "Interrupt",
    "KindResult",
    "ListSessions",
    "Load",
    "LoadResult",
    "ModuleGraph",
    "ModuleGraphResult",
    "ModuleInfo",
    "NameItem",
    "NamesInScope",
    "NamesResult",
    "OpenSession",
    "Output",
    "OutputChunk",
    "ParseName",
    "RefResult",
    "RemoveTarget",
    "Reply",
    "Request",
    "RunDecls",
    "SessionInfo",
    "SessionOpened",
    "SessionOptions",
    "SessionsResult",
    "SetContext",
    "SetFlags",
    "SetTargets",
    "TargetSpec",
    "TargetsResult",
    "TypeKind",
    "TypeResult",
    "ValueResult",
    "Welcome",
]

PROTOCOL_VERSION: Final = 6

RequestId = Annotated[int, Field(ge=0, lt=2**63)]
SessionId = Annotated[str, Field(min_length=1, max_length=64)]
Seconds = Annotated[float, Field(gt=0, le=7 * 24 * 3600)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# ----------------------------------------------------------------------------------------
# Shared value shapes
# ----------------------------------------------------------------------------------------


class SessionOptions(_Wire):
    """Options of ``open_session``; ``None`` means the server's default."""

    flags: list[str] = []
    libdir: str | None = None
    timeout: Seconds | None = None
    heap_mb: Annotated[int, Field(ge=16)] | None = None
    output_limit: Annotated[int, Field(ge=1024)] | None = None
    # Where GHCi and the user's code run; a local client sends its own working directory so
    # that relative paths mean what they meant with in-process GHC.
    cwd: str | None = None


class ImportSpec(_Wire):
    """One interactive import: an ``import`` declaration (``decl``) or ``*M`` (``module``)."""

    kind: Literal["decl", "module"]
    module: str
    qualified: bool = False
    as_: str | None = Field(default=None, alias="as")
    hiding: bool | None = None  # None: no list; False: import list; True: hiding list
    names: list[str] = []
    implicit: bool = False

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


class TargetSpec(_Wire):
    """A load target: a module name or a source file (absolute when sent by a local client)."""

    kind: Literal["module", "file"]
    name: str
    allow_object_code: bool = True


class Diagnostic(_Wire):
    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    severity: Literal["error", "warning"]
    message: str
    code: str | None = None


class ExceptionModel(_Wire):
    type: str
    message: str


class ErrorDetailsModel(_Wire):
    diagnostics: list[Diagnostic] = []
    exception: ExceptionModel | None = None
    replayed: list[str] = []
    problems: list[str] = []
    output: str = ""


class Binding(_Wire):
    name: str
    type: str


class NameItem(_Wire):
    name: str
    module: str | None = None


class InfoItem(_Wire):
    text: str
    thing: str
    defined_in: str | None = None
    fixity: str | None = None
    instances: list[str] = []


class ModuleInfo(_Wire):
    name: str
    file: str
    interpreted: bool


class SessionInfo(_Wire):
    session: SessionId
    busy: bool
    restarts: int
    age: float


# ----------------------------------------------------------------------------------------
# Client -> server
# ----------------------------------------------------------------------------------------


class Hello(_Wire):
    op: Literal["hello"] = "hello"
    id: RequestId
    protocol_version: int
    client: str = ""
    token: str | None = None


class OpenSession(_Wire):
    op: Literal["open_session"] = "open_session"
    id: RequestId
    options: SessionOptions = SessionOptions()


class CloseSession(_Wire):
    op: Literal["close_session"] = "close_session"
    id: RequestId
    session: SessionId


class ListSessions(_Wire):
    op: Literal["list_sessions"] = "list_sessions"
    id: RequestId


class ExecStmt(_Wire):
    op: Literal["exec_stmt"] = "exec_stmt"
    id: RequestId
    session: SessionId
    stmt: str
    source_file: str = "<interactive>"
    line: Annotated[int, Field(ge=1)] = 1
    timeout: Seconds | None = None
    stdin: str | None = None


class RunDecls(_Wire):
    op: Literal["run_decls"] = "run_decls"
    id: RequestId
    session: SessionId
    decls: str
    source_file: str = "<interactive>"
    line: Annotated[int, Field(ge=1)] = 1
    timeout: Seconds | None = None


class DynCompileExpr(_Wire):
    op: Literal["dyn_compile_expr"] = "dyn_compile_expr"
    id: RequestId
    session: SessionId
    expr: str
    timeout: Seconds | None = None


class CompileExpr(_Wire):
    op: Literal["compile_expr"] = "compile_expr"
    id: RequestId
    session: SessionId
    expr: str
    timeout: Seconds | None = None


class FreeRefs(_Wire):
    op: Literal["free_refs"] = "free_refs"
    id: RequestId
    session: SessionId
    refs: list[str]


class BindValue(_Wire):
    """Bind ``name`` to a value given as Haskell source of a value of the API's table.

    ``expr`` is literal-free (it means the same whatever the session's extensions);
    ``expr_literals``, when given, is the same value with string literals, which GHCi
    compiles far faster (a 10^5-element list: seconds less) and which the server uses
    unless ``RebindableSyntax`` and ``OverloadedStrings`` are both on (a string literal then
    means the ``fromString`` in scope).

    ``blobs``: long texts that both expressions use as the variables ``ghcShim'blob0``,
    ``ghcShim'blob1``, … (each a strict ``ByteString``: the text in UTF-8). The server
    writes each to a file that the bound value reads (once, when it is first used), so
    that GHCi compiles a short expression instead of lexing a literal of millions of
    characters.
    """

    op: Literal["bind_value"] = "bind_value"
    id: RequestId
    session: SessionId
    name: str
    expr: str
    type: str
    expr_literals: str | None = None
    blobs: Annotated[list[str], Field(max_length=1024)] = []


class ExprType(_Wire):
    op: Literal["expr_type"] = "expr_type"
    id: RequestId
    session: SessionId
    expr: str
    mode: Literal["inst", "noinst", "default"] = "inst"


class TypeKind(_Wire):
    op: Literal["type_kind"] = "type_kind"
    id: RequestId
    session: SessionId
    type: str
    normalise: bool = False


class GetInfo(_Wire):
    op: Literal["get_info"] = "get_info"
    id: RequestId
    session: SessionId
    name: str
    all_info: bool = False


class NamesInScope(_Wire):
    op: Literal["names_in_scope"] = "names_in_scope"
    id: RequestId
    session: SessionId
    rdr: bool = False


class ParseName(_Wire):
    op: Literal["parse_name"] = "parse_name"
    id: RequestId
    session: SessionId
    name: str


class GetBindings(_Wire):
    op: Literal["get_bindings"] = "get_bindings"
    id: RequestId
    session: SessionId


class GetContext(_Wire):
    op: Literal["get_context"] = "get_context"
    id: RequestId
    session: SessionId


class SetContext(_Wire):
    op: Literal["set_context"] = "set_context"
    id: RequestId
    session: SessionId
    imports: list[ImportSpec]


class GetFlags(_Wire):
    op: Literal["get_flags"] = "get_flags"
    id: RequestId
    session: SessionId


class SetFlags(_Wire):
    """Apply GHC flags (``-XOverloadedStrings``, ``-XNoImplicitPrelude``, ``-Wall``, ...)."""

    op: Literal["set_flags"] = "set_flags"
    id: RequestId
    session: SessionId
    flags: list[str]


class SetTargets(_Wire):
    op: Literal["set_targets"] = "set_targets"
    id: RequestId
    session: SessionId
    targets: list[TargetSpec]


class GetTargets(_Wire):
    op: Literal["get_targets"] = "get_targets"
    id: RequestId
    session: SessionId


class AddTarget(_Wire):
    op: Literal["add_target"] = "add_target"
    id: RequestId
    session: SessionId
    target: TargetSpec


class RemoveTarget(_Wire):
    op: Literal["remove_target"] = "remove_target"
    id: RequestId
    session: SessionId
    target: TargetSpec


class Load(_Wire):
    op: Literal["load"] = "load"
    id: RequestId
    session: SessionId
    how: Literal["all", "up_to"] = "all"
    module: str | None = None
    timeout: Seconds | None = None


class ModuleGraph(_Wire):
    op: Literal["module_graph"] = "module_graph"
    id: RequestId
    session: SessionId


class Complete(_Wire):
    op: Literal["complete"] = "complete"
    id: RequestId
    session: SessionId
    prefix: str
    limit: Annotated[int, Field(ge=1, le=100_000)] = 1000


class Interrupt(_Wire):
    """Interrupt what runs in ``session``; never queued behind that session's requests.

    With ``request`` (the id of a request of this connection), only that request: if it
    runs, it is interrupted; if it still waits for the session, it never runs and ends with
    an ``interrupted`` error; if it has ended (or is unknown), nothing happens. Without
    ``request``, whatever request of the session runs at that moment.
    """

    op: Literal["interrupt"] = "interrupt"
    id: RequestId
    session: SessionId
    request: RequestId | None = None


Request = Annotated[
    Hello
    | OpenSession
    | CloseSession
    | ListSessions
    | ExecStmt
    | RunDecls
    | DynCompileExpr
    | CompileExpr
    | FreeRefs
    | BindValue
    | ExprType
    | TypeKind
    | GetInfo
    | NamesInScope
    | ParseName
    | GetBindings
    | GetContext
    | SetContext
    | GetFlags
    | SetFlags
    | SetTargets
    | GetTargets
    | AddTarget
    | RemoveTarget
    | Load
    | ModuleGraph
    | Complete
    | Interrupt,
    Field(discriminator="op"),
]
REQUEST_ADAPTER: Final[TypeAdapter[Request]] = TypeAdapter(Request)

# Every operation a client may invoke after the handshake, in the order of the union.
OPS: Final[tuple[str, ...]] = tuple(
    model.model_fields["op"].default
    for model in (
        OpenSession,
        CloseSession,
        ListSessions,
        ExecStmt,
        RunDecls,
        DynCompileExpr,
        CompileExpr,
        FreeRefs,
        BindValue,
        ExprType,
        TypeKind,
        GetInfo,
        NamesInScope,
        ParseName,
        GetBindings,
        GetContext,
        SetContext,
        GetFlags,
        SetFlags,
        SetTargets,
        GetTargets,
        AddTarget,
        RemoveTarget,
        Load,
        ModuleGraph,
        Complete,
        Interrupt,
    )
)


# ----------------------------------------------------------------------------------------
# Server -> client
# ----------------------------------------------------------------------------------------


class Welcome(_Wire):
    op: Literal["welcome"] = "welcome"
    id: RequestId
    protocol_version: int
    server_version: str
    ghc_version: str
    ops: list[str]
    max_frame: int


class Output(_Wire):
    """A chunk of text the request's Haskell code wrote, in the order it was produced."""

    op: Literal["output"] = "output"
    id: RequestId
    stream: Literal["stdout", "stderr"]
    text: str


class Done(_Wire):
    """The final reply of a request that returns nothing."""

    op: Literal["done"] = "done"
    id: RequestId


class SessionOpened(_Wire):
    op: Literal["session_opened"] = "session_opened"
    id: RequestId
    session: SessionId
    ghc_version: str
    warm: bool


class SessionsResult(_Wire):
    op: Literal["sessions"] = "sessions"
    id: RequestId
    sessions: list[SessionInfo]


class OutputChunk(_Wire):
    """A piece of a request's output carried in its final reply (``ExecResult.output``)."""

    stream: Literal["stdout", "stderr"]
    text: str


class ExecResult(_Wire):
    """``exception`` set: the Haskell code threw (GHC's ``ExecComplete (Left e)``).

    ``output``: the last of the statement's output, in order, after any ``output`` message.
    """

    op: Literal["exec_result"] = "exec_result"
    id: RequestId
    names: list[str]
    allocation: int = 0
    exception: ExceptionModel | None = None
    truncated: bool = False
    warnings: list[Diagnostic] = []
    output: list[OutputChunk] = []


class DeclsResult(_Wire):
    op: Literal["decls_result"] = "decls_result"
    id: RequestId
    names: list[str]
    warnings: list[Diagnostic] = []


class ValueResult(_Wire):
    """A fully evaluated value: ``payload`` is in the format of ``core.protocol.values``."""

    op: Literal["value_result"] = "value_result"
    id: RequestId
    type: str
    payload: bytes


class RefResult(_Wire):
    """A value kept in the session under ``ref``, an identifier usable in later statements."""

    op: Literal["ref_result"] = "ref_result"
    id: RequestId
    ref: str
    type: str


class TypeResult(_Wire):
    op: Literal["type_result"] = "type_result"
    id: RequestId
    type: str


class KindResult(_Wire):
    op: Literal["kind_result"] = "kind_result"
    id: RequestId
    type: str
    kind: str


class InfoResult(_Wire):
    """``items`` is empty when the name has no information (GHC's ``Nothing``)."""

    op: Literal["info_result"] = "info_result"
    id: RequestId
    text: str
    items: list[InfoItem]


class NamesResult(_Wire):
    op: Literal["names_result"] = "names_result"
    id: RequestId
    names: list[NameItem]


class BindingsResult(_Wire):
    op: Literal["bindings_result"] = "bindings_result"
    id: RequestId
    bindings: list[Binding]


class ContextResult(_Wire):
    op: Literal["context_result"] = "context_result"
    id: RequestId
    imports: list[ImportSpec]


class FlagsResult(_Wire):
    op: Literal["flags_result"] = "flags_result"
    id: RequestId
    extensions: list[str]
    flags: list[str]
    unrecognized: list[str] = []
    warnings: list[str] = []


class TargetsResult(_Wire):
    op: Literal["targets_result"] = "targets_result"
    id: RequestId
    targets: list[TargetSpec]


class LoadResult(_Wire):
    op: Literal["load_result"] = "load_result"
    id: RequestId
    success: bool
    diagnostics: list[Diagnostic]
    modules: list[ModuleInfo]


class ModuleGraphResult(_Wire):
    op: Literal["module_graph_result"] = "module_graph_result"
    id: RequestId
    modules: list[ModuleInfo]


class Completions(_Wire):
    op: Literal["completions"] = "completions"
    id: RequestId
    completions: list[str]


class Error(_Wire):
    """The final reply of a failed request; ``id`` is None for connection-level errors."""

    op: Literal["error"] = "error"
    id: RequestId | None
    code: ErrorCode
    message: str
    details: ErrorDetailsModel = ErrorDetailsModel()


Reply = Annotated[
    Welcome
    | Output
    | Done
    | SessionOpened
    | SessionsResult
    | ExecResult
    | DeclsResult
    | ValueResult
    | RefResult
    | TypeResult
    | KindResult
    | InfoResult
    | NamesResult
    | BindingsResult
    | ContextResult
    | FlagsResult
    | TargetsResult
    | LoadResult
    | ModuleGraphResult
    | Completions
    | Error,
    Field(discriminator="op"),
]
REPLY_ADAPTER: Final[TypeAdapter[Reply]] = TypeAdapter(Reply)
