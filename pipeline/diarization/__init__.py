"""Mono-call diarization backends (offline default, pyannote) and their result type.

The public entry points live in :mod:`pipeline.diarize`; this package holds the pieces.
"""
