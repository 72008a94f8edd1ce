"""pytest plugin for running legacy GHC-API test suites through the shim (filled in later)."""

from __future__ import annotations

__all__: list[str] = []
