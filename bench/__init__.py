"""Benchmarks of the shim side by side with raw GHCi and ``hint`` (run: ``python -m bench``).

Nothing here is imported by ``core`` or ``compat``, and nothing here is a test: the figures
land in ``bench/RESULTS.md`` (see ``bench.run`` for what is measured and how).
"""
