"""Haskell values as Python values: the public façade over the value modules.

Responsible for: re-exporting, under one stable import path, the names that make up the
value layer of the protocol:

* ``core.protocol.value_classes``: ``Just``, ``Nothing``, ``Left``, ``Right``;
* ``core.protocol.haskell_types``: ``HsType`` and ``parse_type`` (GHC's rendering of types);
* ``core.protocol.type_table``: the table of types that cross as Python values (API.md §1.5),
  ``TABLE_TYPE_NAMES``, ``haskell_type_name`` and ``normalise_type_rep``;
* ``core.protocol.payload``: ``decode_value`` and ``DecodedValue`` (the payload format is
  documented there, and only there);
* ``core.protocol.show``: ``show_value``, GHC's ``show`` for table types;
* ``core.protocol.to_haskell``: ``python_to_haskell``.

Must not: define anything itself, perform I/O, or know how the payload reaches it.
"""

from __future__ import annotations

from core.protocol.haskell_types import HsType, parse_type
from core.protocol.payload import PAYLOAD_MAGIC, DecodedValue, decode_value
from core.protocol.show import show_value
from core.protocol.to_haskell import python_to_haskell
from core.protocol.type_table import TABLE_TYPE_NAMES, haskell_type_name, normalise_type_rep
from core.protocol.value_classes import Just, Left, Nothing, NothingType, Right

__all__ = [
    "PAYLOAD_MAGIC",
    "TABLE_TYPE_NAMES",
    "DecodedValue",
    "HsType",
    "Just",
    "Left",
    "Nothing",
    "NothingType",
    "Right",
    "decode_value",
    "haskell_type_name",
    "normalise_type_rep",
    "parse_type",
    "python_to_haskell",
    "show_value",
]
