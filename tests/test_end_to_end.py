"""The installed engines through the CLI: create twice, reproduce, open the report, play the MIDI."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from museforge.cli import main
from museforge.engines import load_engines

TINY = ["--param", "image.size=64", "--param", "music.bars=2", "-q"]
PROMPT = "在一片神秘的森林中，"


def _create(out: Path, *extra: str) -> None:
    assert main(["create", PROMPT, "--seed", "11", "--out", str(out), *TINY, *extra]) == 0


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("e2e") / "work"
    _create(out)
    return out


def test_builtin_engines_registered_through_entry_points():
    engines = load_engines()
    assert {"rule-poet", "procedural-painting", "rule-composer"} <= set(engines)
    assert {engines[n].modality for n in engines} >= {"text", "image", "music"}


def test_create_writes_every_artifact(work):
    names = {p.name for p in work.iterdir()}
    assert {"work.json", "report.html", "poem.txt", "painting.png", "music.mid", "music.wav"} <= names
    with Image.open(work / "painting.png") as im:
        assert im.size == (64, 64)
        assert im.info["parameters"].startswith(PROMPT + "\nSteps: 1, Sampler: procedural-painting")
    poem = (work / "poem.txt").read_text(encoding="utf-8")
    assert len([line for line in poem.splitlines() if line.strip()]) >= 4


def test_same_seed_gives_identical_files(work, tmp_path):
    again = tmp_path / "again"
    _create(again)
    for f in work.iterdir():
        if f.name not in ("work.json", "report.html"):
            assert f.read_bytes() == (again / f.name).read_bytes(), f.name


def test_reproduce_is_byte_identical(work, capsys):
    assert main(["reproduce", str(work), "-q"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"(\d+) of \1 files identical", out)


def test_engines_command_lists_parameters(capsys):
    assert main(["engines"]) == 0
    out = capsys.readouterr().out
    assert "procedural-painting" in out and "size (int, default 768)" in out


@pytest.mark.skipif(not shutil.which("fluidsynth"), reason="FluidSynth not installed")
def test_fluidsynth_plays_the_embedded_midi(work, tmp_path):
    fonts = (
        [p for p in Path("/usr/share/sounds/sf2").glob("*.sf2")]
        if Path("/usr/share/sounds/sf2").exists()
        else []
    )
    if not fonts:
        pytest.skip("no General MIDI soundfont")
    wav = tmp_path / "play.wav"
    subprocess.run(
        [
            "fluidsynth",
            "-ni",
            "-g",
            "1.0",
            "-F",
            str(wav),
            "-r",
            "22050",
            str(fonts[0]),
            str(work / "music.mid"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert wav.stat().st_size > 10_000


def test_missing_fluidsynth_warns_and_still_writes_wav(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    out = tmp_path / "nofs"
    assert (
        main(["create", "a quiet lake", "--seed", "1", "--out", str(out), "--modalities", "music", *TINY])
        == 0
    )
    err = capsys.readouterr().err
    assert "warning: FluidSynth not found" in err
    assert (out / "music.wav").stat().st_size > 1000


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(not CHROMIUM, reason="no headless Chromium installed")
def test_report_renders_with_all_artifacts_in_headless_chromium(work, tmp_path):
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=5000",
        "--dump-dom",
    ]
    dom = subprocess.run(
        [CHROMIUM, *flags, (work / "report.html").as_uri()],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    ).stdout
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert 'data-images="2"' in body, body  # painting and piano roll decoded
    assert re.search(r'data-audio="\d+\.\d"', body), body  # the WAV's length was read
    poem_line = (work / "poem.txt").read_text(encoding="utf-8").splitlines()[-1]
    assert poem_line in dom


@pytest.mark.skipif(not CHROMIUM, reason="no headless Chromium installed")
def test_report_fits_a_phone_and_links_the_score(work):
    """At 400 px wide nothing scrolls sideways; the MusicXML is linked; the poem's title shows once."""
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=flags)
        try:
            page = browser.new_page(viewport={"width": 400, "height": 800})
            page.goto((work / "report.html").as_uri())
            page.wait_for_load_state("load")
            assert page.evaluate("document.documentElement.scrollWidth") <= 400
            assert page.locator('a[href="music.musicxml"]').count() == 1
            title = page.locator(".poem-title").inner_text()
            assert title and page.locator("#poem").inner_text().count(title) == 1
        finally:
            browser.close()


def test_console_script_runs():
    result = subprocess.run(
        [sys.executable, "-m", "museforge", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and "create" in result.stdout
