"""The history as a person reads it: one card per project (its video's thumbnail, length, cost and date) and the
same facts as table rows for programs (the studio's `/history`). The rows come from `Projects`, which lists only
the owner's own projects; the thumbnails are cut into the owner's own folder (pipeline/thumbnails.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipeline.projects import ProjectRow, Projects

EMPTY_HISTORY = ("**No renders yet** — press **Render** (or **Preview**, free) and each video you make appears "
                 "here with its picture, length, cost and date; click one to open it again.")  # fmt: skip
HISTORY_HEADERS = ["project", "title", "updated", "renders", "length (s)", "providers", "final video", "cost (USD)"]


@dataclass(frozen=True)
class HistoryCard:
    """One project in the history view: what opens it, its picture (None: not rendered yet) and its caption."""

    project_id: str
    thumbnail: str | None
    caption: str


def when(iso: str) -> str:
    """'2026-12-01T08:10:42+00:00' → '2026-12-01 08:10 UTC' (as stored; a malformed date is shown as it is)."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def cost(usd: float) -> str:
    return "free" if not usd else f"${usd:.2f}"


def length(seconds: float | None) -> str:
    if not seconds:
        return "not rendered yet"
    minutes, rest = divmod(round(seconds, 1), 60)
    return f"{int(minutes)} min {rest:04.1f} s" if minutes else f"{rest:.1f} s"


def caption(row: ProjectRow) -> str:
    renders = f" · {row.renders} renders" if row.renders > 1 else ""
    return f"{row.title} — {length(row.duration)} · {cost(row.spent)} · {when(row.updated)}{renders}"


def history_cards(projects: Projects, owner: str, limit: int = 100) -> list[HistoryCard]:
    """`owner`'s projects, newest first, each with its thumbnail (cut now for a finished render that has none)."""
    return [HistoryCard(row.id, projects.thumbnail(owner, row), caption(row)) for row in projects.history(owner, limit)]


def history_rows(projects: Projects, owner: str, limit: int = 100) -> list[list[Any]]:
    """The same projects as rows of HISTORY_HEADERS (the table, and the `/history` API)."""
    return [
        [p.id, p.title, when(p.updated), p.renders, round(p.duration, 1) if p.duration else "",
         " · ".join(p.providers.values()), "✓ open to play" if p.video and Path(p.video).exists() else "—",
         round(p.spent, 2)]  # fmt: skip
        for p in projects.history(owner, limit)
    ]
