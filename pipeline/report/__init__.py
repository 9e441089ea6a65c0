"""Reports for QA reviewers and team leads under ``reports/<run date>/``.

Written from the results database (:func:`load_report_data`) or from in-memory results
(:func:`report_data_from_results`):

- ``calls.csv``, ``findings.csv``, ``agents.csv``, ``rules.csv``, ``failures.csv``;
- ``scorecards.xlsx``: an ``Overview`` sheet (agents ranked), ``Rules``, and one sheet per agent;
- a static HTML site: ``index.html`` (score distribution, agents ranked, rule hit rates),
  ``agents/<agent>.html`` (scorecard, trend chart, coaching list) and ``calls/<call>.html``
  (speaker-coloured transcript, highlighted findings, an audio player that seeks to a finding).

Personal data is masked (:mod:`pipeline.redact`) in every text field of every output unless
``redact=False``. Recordings are not altered: they are linked by relative path or copied.

One module per output: ``tables`` (the CSVs), ``workbook`` (the xlsx), ``index_page``,
``agent_pages`` and ``call_pages``; ``data`` reads and prepares what they share, ``site`` holds
the templates, and ``writer`` (:func:`write_reports`) runs them in turn.
"""
from __future__ import annotations

from pipeline.report.call_pages import PLAYABLE_SUFFIXES, find_audio
from pipeline.report.data import ReportData, ReportError, load_report_data, report_data_from_results
from pipeline.report.site import TEMPLATES
from pipeline.report.writer import ReportPaths, write_reports

__all__ = [
    "PLAYABLE_SUFFIXES", "ReportData", "ReportError", "ReportPaths", "TEMPLATES", "find_audio",
    "load_report_data", "report_data_from_results", "write_reports",
]
