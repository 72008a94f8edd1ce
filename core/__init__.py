"""The core of the GHC-API shim: the wire protocol, the server that owns GHCi sessions, and
the explicit client.

Layering (enforced by ``tests/test_layering.py``): ``core.client -> core.protocol <- core.server``;
``core`` never imports ``compat``; ``core.protocol`` performs no I/O.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
