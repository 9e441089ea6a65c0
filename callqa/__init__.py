"""The ``callqa`` application layer: the command line and the benchmark harness.

Library code lives in :mod:`pipeline`; Prefect flows in :mod:`flows`. Nothing in ``pipeline``
imports this package (the import contract in ``pyproject.toml`` enforces it).
"""
