"""Any change of the wire format must be deliberate: bump PROTOCOL_VERSION and regenerate.

Regenerate with: ``python tests/protocol/test_schema_snapshot.py --write``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from core.protocol import messages as m

SNAPSHOT = Path(__file__).with_name("protocol_schema.json")


def current_schema() -> dict[str, object]:
    return {
        "protocol_version": m.PROTOCOL_VERSION,
        "request": m.REQUEST_ADAPTER.json_schema(by_alias=True),
        "reply": m.REPLY_ADAPTER.json_schema(by_alias=True),
    }


def test_wire_schema_matches_the_snapshot() -> None:
    expected = json.loads(SNAPSHOT.read_text())
    assert current_schema() == expected, (
        "the wire schema changed: bump PROTOCOL_VERSION in core/protocol/messages.py, note it "
        "in the version history, and regenerate the snapshot (see this module's docstring)"
    )


def test_snapshot_names_every_op() -> None:
    text = SNAPSHOT.read_text()
    for op in m.OPS:
        assert f'"{op}"' in text


if __name__ == "__main__" and "--write" in sys.argv:
    SNAPSHOT.write_text(json.dumps(current_schema(), indent=1, sort_keys=True) + "\n")
