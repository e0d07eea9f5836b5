"""The report's two sections beyond the models: the originality indexes' calibration and the
human ratings collected by the studio's Compare page."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from museforge.errors import MuseforgeError
from museforge.evaluate.report_base import Context

MAX_RANKED = 40
"""Works shown in the ranking plot (the best and the worst halves when there are more)."""


# ------------------------------------------------------------------ originality


def originality(ctx: Context) -> dict[str, Any]:
    """``museforge.originality.service.calibrations()``: index name -> ``Thresholds.to_json()``;
    "no originality index installed" when the service or its indexes are missing."""
    try:
        from museforge.originality.service import calibrations
    except ImportError:
        return {"installed": False, "message": "no originality index installed", "indexes": {}}
    from museforge.originality.verdicts import Thresholds

    try:
        raw = calibrations() or {}
    except Exception as err:  # a missing or unreadable index must not lose the rest of the report
        if os.environ.get("MUSEFORGE_DEBUG"):
            raise
        why = " ".join(str(err).split())[:200]
        message = f"no originality index installed ({type(err).__name__}: {why})"
        return {"installed": False, "message": message, "indexes": {}}
    indexes: dict[str, Any] = {}
    for name, data in sorted(raw.items()):
        try:
            indexes[str(name)] = Thresholds.from_json(data).to_json()
        except (KeyError, TypeError, ValueError):
            continue  # an index without usable thresholds is not shown
    if not indexes:
        return {"installed": False, "message": "no originality index installed", "indexes": {}}
    out: dict[str, Any] = {"installed": True, "indexes": indexes, "plot": None}
    if any((t.get("calibration") or {}).get("heldout") for t in indexes.values()):
        from museforge.evaluate.report_plots import calibration_plot

        out["plot"] = calibration_plot(ctx, "originality-calibration.png", indexes)
    return out


# ------------------------------------------------------------------ human ratings


def default_database() -> Path:
    """The studio's default SQLite file: ``$MUSEFORGE_HOME/studio/studio.db``."""
    from museforge.keys import home

    return home() / "studio" / "studio.db"


def _engine(url: str) -> Any:
    """A read-only engine for SQLite (nothing in the file changes), the studio's otherwise."""
    import sqlalchemy as sa

    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        return sa.create_engine(f"sqlite:///file:{path.resolve()}?mode=ro&uri=true")
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def check_database(url: str | None) -> None:
    """A one-line error for a ``--studio-db`` that cannot be a studio database."""
    if url is None:
        return
    if not url.startswith(("sqlite:///", "postgresql://", "postgresql+psycopg://")):
        raise MuseforgeError("--studio-db takes sqlite:///PATH or postgresql://USER@HOST/DB")
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise MuseforgeError(f"--studio-db {url}: no such database file")


def ratings(ctx: Context, url: str | None) -> dict[str, Any]:
    """The Bradley–Terry ranking of the studio's rated works, or why there is none."""
    given = url is not None
    check_database(url)
    if url is None:
        path = default_database()
        if not path.is_file():
            return {
                "database": str(path),
                "ratings": 0,
                "message": "no ratings yet: there is no studio database "
                f"at {path} (rate pairs of works on the studio's Compare page)",
            }
        url = f"sqlite:///{path}"
    shown = url.split("@")[-1] if url.startswith("postgresql") else url
    try:
        import sqlalchemy as sa
    except ImportError:
        if given:
            raise MuseforgeError(
                "reading the studio's ratings needs the studio extra: pip install 'museforge[studio]'"
            ) from None
        return {
            "database": shown,
            "ratings": 0,
            "message": "no ratings read: the studio extra is not installed (pip install 'museforge[studio]')",
        }
    from museforge.evaluate.ratings import bradley_terry

    engine = _engine(url)
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            if "ratings" not in tables:
                return {
                    "database": shown,
                    "ratings": 0,
                    "message": "no ratings yet: the studio database has none",
                }
            # the studio's tables, read by reflection: the report does not depend on the studio
            ratings_table = sa.Table("ratings", sa.MetaData(), autoload_with=conn)
            rows = conn.execute(sa.select(ratings_table).order_by(ratings_table.c.id)).mappings().all()
            info = {}
            if "works" in tables:
                works = sa.Table("works", sa.MetaData(), autoload_with=conn)
                for w in conn.execute(sa.select(works.c.id, works.c.prompt, works.c.engines)).mappings():
                    info[w["id"]] = (w["prompt"], (w["engines"] or "").split())
    except sa.exc.SQLAlchemyError as err:
        raise MuseforgeError(f"cannot read the studio database {shown}: {str(err).splitlines()[0]}") from None
    finally:
        engine.dispose()
    if not rows:
        return {"database": shown, "ratings": 0, "message": "no ratings yet: the studio database has none"}
    choices = [(r["winner"], r["b"] if r["winner"] == r["a"] else r["a"]) for r in rows]
    ranks = bradley_terry(choices)
    ranking = []
    for work, rank in ranks.items():
        prompt, engines = info.get(work, ("", []))
        label = (prompt or work)[:48] + ("..." if len(prompt or work) > 48 else "")
        ranking.append(
            {
                "work": work,
                "prompt": prompt,
                "engines": engines,
                "label": f"{label} [{work[:8]}]",
                "score": rank.score,
                "low": rank.low,
                "high": rank.high,
                "wins": rank.wins,
                "games": rank.games,
            }
        )
    out: dict[str, Any] = {
        "database": shown,
        "ratings": len(rows),
        "raters": len({r["owner"] for r in rows}),
        "works": len(ranking),
        "ranking": ranking,
        "plot": None,
    }
    shown_rows = (
        ranking if len(ranking) <= MAX_RANKED else ranking[: MAX_RANKED // 2] + ranking[-MAX_RANKED // 2 :]
    )
    from museforge.evaluate.report_plots import ranking_plot

    out["plot"] = ranking_plot(ctx, "ratings-ranking.png", shown_rows)
    if len(ranking) > MAX_RANKED:
        out["message"] = f"the plot shows the best and the worst {MAX_RANKED // 2} of {len(ranking)} works"
    return out
