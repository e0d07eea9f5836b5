"""``museforge evaluate``: the report's JSON, page and plots, the refusals, the ratings and the
originality sections. One quick report over a model of each family is built once (about half a
minute on two CPU cores) and read by several tests."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from museforge.cli import main
from museforge.evaluate import report as rep
from museforge.evaluate.report_base import Context, card_tables, numbers
from museforge.evaluate.report_page import fmt
from museforge.originality.verdicts import calibrate
from museforge.runtime import models_root

PNG = b"\x89PNG\r\n\x1a\n"
QUICK_MODELS = ["text-poet", "music-harmonizer", "image-gan", "style-fast-scream"]
NO_INDEX = {"installed": False, "message": "no originality index installed", "indexes": {}}
SHARE_KEYS = ("validity.", "copy_rate", "precision", "recall", "readback.", "ceiling.", "chance.")


def _fake_service(monkeypatch: pytest.MonkeyPatch, calibrations) -> None:
    """Stand in for museforge.originality.service (written beside this report)."""
    module = types.ModuleType("museforge.originality.service")
    module.calibrations = calibrations  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "museforge.originality.service", module)


def _thresholds() -> dict:
    rng = np.random.default_rng(0)
    return {
        "text-poet": calibrate(
            rng.uniform(0.6, 1.0, 200), rng.uniform(0.1, 0.6, 100), "cosine of lines"
        ).to_json(),
        "music-melody": calibrate([], rng.uniform(0.0, 0.5, 50), "interval-run overlap").to_json(),
    }


def _studio_db(folder: Path) -> str:
    """A studio database (the studio's own schema) with three works and six choices."""
    pytest.importorskip("sqlalchemy")
    pytest.importorskip("alembic")
    from museforge.studio.db import connect, migrate, now, ratings, works

    url = f"sqlite:///{folder / 'studio.db'}"
    engine = connect(url)
    migrate(engine)
    with engine.begin() as conn:
        for wid, prompt in (
            ("a" * 32, "a stormy sea"),
            ("b" * 32, "a quiet lake"),
            ("c" * 32, "a city at night"),
        ):
            conn.execute(
                works.insert().values(
                    id=wid,
                    owner="local",
                    state="done",
                    prompt=prompt,
                    lang="en",
                    engines=" procedural-painting ",
                    seed=1,
                    request="{}",
                    created=now(),
                )
            )
        for a, b, winner in [("a", "b", "a")] * 3 + [("b", "c", "b")] * 2 + [("a", "c", "a")]:
            conn.execute(
                ratings.insert().values(owner="local", a=a * 32, b=b * 32, winner=winner * 32, created=now())
            )
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, list[str]]:
    """One quick report over a model of each family, with a studio database and two indexes."""
    folder = tmp_path_factory.mktemp("evaluation")
    url = _studio_db(tmp_path_factory.mktemp("studio"))
    lines: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        _fake_service(mp, _thresholds)
        opts = rep.Options(
            models=QUICK_MODELS,
            out=folder / "report",
            seed=3,
            quick=True,
            studio_db=url,
            command="museforge evaluate --quick",
        )
        report = rep.write_report(opts, progress=lines.append)
    return report, folder / "report", lines


# ------------------------------------------------------------------ refusals (no model runs)


def test_unknown_model_is_one_line_naming_the_valid_ones(tmp_path, capsys):
    code = main(["evaluate", "--models", "text-poet", "no-such-model", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert len(err.splitlines()) == 1
    assert "'no-such-model'" in err
    for name in rep.shipped_models(models_root()):
        assert name in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("argv", [["--n", "2"], ["--n", "1001"], ["--seed", "-1"]])
def test_bad_numbers_are_refused_before_any_work(tmp_path, capsys, argv):
    code = main(["evaluate", *argv, "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1 and err.startswith("museforge: error:")
    assert not (tmp_path / "r").exists()


def test_a_folder_that_is_not_a_report_is_not_replaced(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("keep me")
    code = main(["evaluate", "--quick", "--models", "style-fast-scream", "--out", str(tmp_path)])
    assert code == 1 and "no earlier report" in capsys.readouterr().err
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_a_missing_studio_database_is_refused(tmp_path, capsys):
    code = main(
        [
            "evaluate",
            "--quick",
            "--models",
            "style-fast-scream",
            "--out",
            str(tmp_path / "r"),
            "--studio-db",
            f"sqlite:///{tmp_path / 'none.db'}",
        ]
    )
    assert code == 1 and "no such database" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_models_keep_the_shipped_order_and_appear_once():
    shipped = rep.shipped_models(models_root())
    assert {
        "text-poet",
        "music-melody",
        "music-harmonizer",
        "image-diffusion",
        "image-gan",
        "style-adain",
    } <= set(shipped)
    assert [rep.family(n) for n in shipped] == sorted(
        (rep.family(n) for n in shipped), key=rep.FAMILY_ORDER.index
    )
    assert rep.check_models(["style-adain", "text-poet", "text-poet"], models_root()) == [
        "text-poet",
        "style-adain",
    ]


# ------------------------------------------------------------------ pieces


def test_card_readers():
    assert numbers("1,562 | 84 % and 0.07") == [1562.0, 0.84, 0.07]
    tables = card_tables(models_root() / "image-diffusion")
    row = next(r for t in tables for r in t if next(iter(r.values())).startswith("this model, English"))
    assert numbers(row["FID"]) and 0 <= numbers(row["precision"])[0] <= 1
    assert fmt(0.5, "share") == "50.0 %" and fmt(None) == "—"


def test_frechet_is_the_fid_of_the_evaluation_code():
    from museforge.evaluate.image_quality import fid
    from museforge.evaluate.report_images import frechet

    rng = np.random.default_rng(1)
    for n, dim in ((40, 6), (8, 64)):  # more points than dimensions, and fewer (a singular covariance)
        a, b = rng.normal(size=(n, dim)), rng.normal(0.5, 1.5, size=(n + 3, dim))
        assert frechet(a, b) == pytest.approx(fid(a, b), rel=1e-6)


def test_originality_section_reads_the_calibrations(tmp_path, monkeypatch):
    from museforge.evaluate.report_sections import originality

    ctx = Context(seed=0, quick=True, out=tmp_path, models_root=models_root(), progress=lambda _: None)
    _fake_service(monkeypatch, _thresholds)
    out = originality(ctx)
    assert out["installed"] and set(out["indexes"]) == {"text-poet", "music-melody"}
    t = out["indexes"]["text-poet"]
    assert 0 <= t["similar"] <= t["copy"] <= 1 and t["calibration"]["heldout"]["n"] == 100
    assert (tmp_path / out["plot"]).read_bytes().startswith(PNG)
    _fake_service(monkeypatch, dict)
    assert originality(ctx) == NO_INDEX


def test_ratings_section_ranks_the_studio_works(tmp_path):
    from museforge.evaluate.report_sections import ratings

    url = _studio_db(tmp_path)
    ctx = Context(seed=0, quick=True, out=tmp_path, models_root=models_root(), progress=lambda _: None)
    out = ratings(ctx, url)
    assert out["ratings"] == 6 and out["works"] == 3 and out["raters"] == 1
    order = [r["prompt"] for r in out["ranking"]]
    assert order == ["a stormy sea", "a quiet lake", "a city at night"]
    for r in out["ranking"]:
        assert r["low"] < r["score"] < r["high"] and r["wins"] <= r["games"]
    assert (tmp_path / out["plot"]).read_bytes().startswith(PNG)


def test_no_studio_database_means_no_ratings_yet(tmp_path, monkeypatch):
    from museforge.evaluate.report_sections import ratings

    monkeypatch.setenv("MUSEFORGE_HOME", str(tmp_path / "home"))
    ctx = Context(seed=0, quick=True, out=tmp_path, models_root=models_root(), progress=lambda _: None)
    out = ratings(ctx, None)
    assert out["ratings"] == 0 and out["message"].startswith("no ratings yet")
    assert not (tmp_path / "home").exists()


# ------------------------------------------------------------------ a whole quick report


@pytest.mark.slow
def test_every_requested_model_appears_with_figures(quick_report):
    report, _, lines = quick_report
    assert list(report["models"]) == QUICK_MODELS
    assert (
        report["seed"] == 3 and report["quick"] is True and report["command"].startswith("museforge evaluate")
    )
    for name, m in report["models"].items():
        assert "error" not in m, m.get("error")
        assert m["family"] == rep.family(name) and m["title"] and m["method"]
        sources = {x["source"] for x in m["metrics"]}
        assert sources <= {"computed", "card"} and "computed" in sources, name
        assert any(f"{name}: done" in line for line in lines)
    assert lines[-1] == "human ratings"


@pytest.mark.slow
def test_figures_lie_in_their_ranges(quick_report):
    report = quick_report[0]
    for m in report["models"].values():
        for x in m["metrics"]:
            v = x["value"]
            assert v is None or np.isfinite(v), x
            if v is None:
                continue
            if x["unit"] == "share" or x["key"].startswith(SHARE_KEYS):
                assert 0 <= v <= 1, x
            if x["unit"] == "nats" or x["key"].startswith(("fid", "real.fid", "distinct")):
                assert v >= 0, x
            if x["n"] is not None:
                assert x["n"] >= 1
    text = report["models"]["text-poet"]
    forms = {
        x["key"] for x in text["metrics"] if x["key"].startswith("validity.") and x["source"] == "computed"
    }
    assert forms == {f"validity.{f}" for f in ("wujue", "qijue", "wulv", "qilv", "haiku", "sonnet")}
    assert text["details"]["examples"]["qijue"].strip()
    harm = {
        x["key"]: x["value"]
        for x in report["models"]["music-harmonizer"]["metrics"]
        if x["source"] == "computed"
    }
    assert 0 < harm["nll"] < 5 and harm["model.parallel_fifths_count"] >= 0 and harm["bach.polyphony"] > 1
    gan = {x["key"]: x for x in report["models"]["image-gan"]["metrics"] if x["source"] == "computed"}
    assert gan["fid"]["n"] == 4 and gan["real.fid"]["value"] > 0
    scream = [x for x in report["models"]["style-fast-scream"]["metrics"] if x["key"] == "held_out.style"]
    assert {x["source"] for x in scream} == {"computed", "card"}


@pytest.mark.slow
def test_plots_exist_are_pngs_and_the_page_shows_them(quick_report):
    report, folder, _ = quick_report
    listed = [p["file"] for m in report["models"].values() for p in m["plots"]]
    listed += [report["originality"]["plot"], report["ratings"]["plot"]]
    assert len(listed) >= 2 * len(QUICK_MODELS) + 2 and sorted(listed) == report["files"]
    page = (folder / "index.html").read_text(encoding="utf-8")
    for file in listed:
        assert (folder / file).read_bytes().startswith(PNG)
        assert f'src="{file}"' in page
    for name in QUICK_MODELS:
        assert f'<h2 id="{name}">' in page
    assert (
        "museforge evaluate --quick" in page and "<h2 id=originality>" in page and "<h2 id=ratings>" in page
    )
    assert json.loads((folder / "evaluation.json").read_text(encoding="utf-8")) == report


@pytest.mark.slow
def test_report_sections_in_the_whole_report(quick_report):
    report = quick_report[0]
    assert report["originality"]["installed"] and set(report["originality"]["indexes"]) == {
        "text-poet",
        "music-melody",
    }
    ranking = report["ratings"]["ranking"]
    assert [r["work"][0] for r in ranking] == ["a", "b", "c"] and report["ratings"]["ratings"] == 6


@pytest.mark.slow
def test_cli_writes_a_report_and_replaces_an_earlier_one(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MUSEFORGE_HOME", str(tmp_path / "home"))
    _fake_service(monkeypatch, dict)
    out = tmp_path / "r"
    argv = ["evaluate", "--quick", "--models", "style-fast-scream", "--seed", "5", "--out", str(out)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out / "index.html")
    assert "style-fast-scream: evaluating" in captured.err and "style-fast-scream: done" in captured.err
    first = json.loads((out / "evaluation.json").read_text(encoding="utf-8"))
    assert first["ratings"]["message"].startswith("no ratings yet")
    assert first["originality"] == NO_INDEX
    assert main(argv) == 0
    second = json.loads((out / "evaluation.json").read_text(encoding="utf-8"))

    def computed(r):
        return [
            (x["key"], x["value"])
            for m in r["models"].values()
            for x in m["metrics"]
            if x["source"] == "computed"
        ]

    assert computed(first) == computed(second)  # the same seed repeats the figures
    assert sorted(p.name for p in out.iterdir()) == sorted([*first["files"], "evaluation.json", "index.html"])


def test_a_failing_model_is_reported_and_the_rest_kept(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MUSEFORGE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MUSEFORGE_DEBUG", raising=False)
    _fake_service(monkeypatch, dict)

    def broken(ctx):
        raise RuntimeError("the weights\nare broken")

    monkeypatch.setattr(rep, "_evaluator", lambda name, samples: broken)
    out = tmp_path / "r"
    assert main(["evaluate", "--quick", "--models", "style-fast-scream", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "museforge: error: could not evaluate style-fast-scream; see the report"
    report = json.loads((out / "evaluation.json").read_text(encoding="utf-8"))
    m = report["models"]["style-fast-scream"]
    assert m["error"] == "RuntimeError: the weights are broken" and m["title"] and m["metrics"] == []
    assert "Could not be evaluated: RuntimeError: the weights are broken" in (out / "index.html").read_text()
