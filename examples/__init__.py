"""Example legacy GHC-API tools running on the shim (see examples/notebook.py)."""
