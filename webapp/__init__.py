"""The review workspace: a web app over the results database for reviewers, team leads and agents.

Imports only the library (:mod:`pipeline`); the CLI's ``callqa serve`` starts it. See
:mod:`webapp.app` for the pages and the access rules.
"""
from __future__ import annotations

from webapp.app import check_can_serve, create_app, serve
from webapp.settings import WebSettings

__all__ = ["create_app", "serve", "check_can_serve", "WebSettings"]
