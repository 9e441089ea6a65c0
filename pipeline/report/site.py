"""The HTML site's folder, templates and the filters they use."""
from __future__ import annotations

import math
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pipeline.report.data import ReportError

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
ASSETS = ("style.css", "callqa.js")
MISSING = "–"


@dataclass(frozen=True, slots=True)
class Site:
    """A report folder and what its pages share: the templates and the header values."""

    root: Path
    env: Environment
    common: Mapping[str, Any]

    def write_page(self, relative: str, template: str, **values: Any) -> Path:
        """Render ``template`` to ``root/relative``; links to shared files are made relative to it."""
        page = self.root / relative
        up = "../" * (len(Path(relative).parts) - 1)
        page.write_text(
            self.env.get_template(template).render(**{**self.common, "root": up}, **values), encoding="utf-8"
        )
        return page


def open_site(root: Path, common: Mapping[str, Any]) -> Site:
    """Create the report folder with its sub-folders and copy the stylesheet and script."""
    try:
        for sub in ("agents", "calls", "assets"):
            (root / sub).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ReportError(f"cannot create report folder {root}: {e}; choose a writable --out") from e
    for asset in ASSETS:
        shutil.copyfile(TEMPLATES / asset, root / "assets" / asset)
    return Site(root=root, env=environment(), common=dict(common))


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=num, pct=pct, signed=signed, mmss=mmss, slug=slug)
    env.tests["known"] = known
    return env


def known(value: Any) -> bool:
    """Not missing: frames hold None, NaN or pd.NA for absent values."""
    return value is not None and value is not pd.NA and not (isinstance(value, float) and math.isnan(value))


def num(value: Any, digits: int = 1) -> str:
    return f"{float(value):.{digits}f}" if known(value) else MISSING


def pct(value: Any) -> str:
    return f"{100 * float(value):.0f}%" if known(value) else MISSING


def signed(value: Any) -> str:
    return f"{float(value):+.1f}" if known(value) else MISSING


def mmss(seconds: Any) -> str:
    if not known(seconds):
        return MISSING
    s = int(float(seconds))
    return f"{s // 60}:{s % 60:02d}"


def agent_page_path(agent_id: str) -> str:
    """Where an agent's page lives, relative to the report folder (call pages link to it)."""
    return f"agents/{slug(agent_id)}.html"


def slug(value: str) -> str:
    """A file-name-safe form of an id (ids come from manifests, so they may hold anything)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(value)).strip("._") or "unknown"
