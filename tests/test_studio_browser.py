"""The studio as a person uses it, in Debian's Chromium driven by Playwright: a Chinese prompt
becomes a work with live progress; variations keep the poem; the gallery finds it; a pair is
rated and the ranking drawn; a generation of nine evolves from favourites; an uploaded photo
is stylised; the poem editor checks a form live and keeps a line; a sculpture turns in the 3-D
viewer, is forked and undone in the history tree; a melody typed as notes is harmonised. The server runs as
``museforge studio`` in its own process.

Screenshots of each page go to $MUSEFORGE_STUDIO_SHOTS when set (docs/ holds the README's)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

pytest.importorskip("fastapi")
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--no-sandbox",
    "--use-angle=swiftshader",  # WebGL on the CPU, for the 3-D viewer
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def studio(tmp_path):
    port = free_port()
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "museforge",
            "studio",
            "--port",
            str(port),
            "--data",
            str(tmp_path / "data"),
            "--workers",
            "2",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1).read()
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail((tmp_path / "server.log").read_text())
    yield url
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=20)
    log.close()


@pytest.mark.skipif(not CHROMIUM, reason="no Chromium installed")
def test_create_vary_search_and_rate_in_the_browser(studio, tmp_path):
    shots = Path(os.environ["MUSEFORGE_STUDIO_SHOTS"]) if os.environ.get("MUSEFORGE_STUDIO_SHOTS") else None

    def shot(page, name):
        if shots:
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / f"studio-{name}.png"), full_page=True)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 800}, locale="zh-CN")
            page.goto(studio)
            page.fill("#prompt", "在一片神秘的森林中，")
            page.wait_for_function("document.querySelector('#mood-note').textContent.includes('神秘')")
            page.fill("#seed", "7")
            shot(page, "create")
            page.click("#make")
            page.wait_for_url("**/#/work/*")
            first_work = page.url.rsplit("/", 1)[1]
            page.wait_for_selector(f"main[data-work='{first_work}'] #poem:not(:empty)", timeout=90_000)
            assert page.locator(".work img").count() >= 1
            assert page.locator("#audio").count() == 1
            assert page.evaluate("document.querySelector('#audio').readyState") >= 0
            poem = page.inner_text("#poem")
            parent = page.url.rsplit("/", 1)[1]
            shot(page, "work")
            page.check(".keep[value='text']")
            page.click("#vary")
            page.wait_for_function(f"!location.hash.endsWith('{parent}')")
            child = page.url.rsplit("/", 1)[1]
            page.wait_for_selector(f"main[data-work='{child}'] #poem:not(:empty)", timeout=90_000)
            assert page.inner_text("#poem") == poem  # kept, byte for byte
            assert page.get_attribute("#undo", "href") == f"#/work/{parent}"  # the history tree's undo
            # the poem editor: a live form check, then the other lines rewritten
            here = page.url.rsplit("/", 1)[1]
            page.select_option("#poem-form", "wujue")
            page.fill("#poem-edit", "白日依山尽\n黄河入海流\n欲穷千里目\n更上一层楼")
            page.wait_for_function("document.querySelector('#form-check').textContent.includes('wujue')")
            shot(page, "poem")
            page.fill("#keep", "1")
            page.click("#rewrite")
            page.wait_for_function(f"!location.hash.endsWith('{here}')")
            rewritten = page.url.rsplit("/", 1)[1]
            page.wait_for_selector(f"main[data-work='{rewritten}'] #poem:not(:empty)", timeout=90_000)
            assert "白日依山尽" in page.inner_text("#poem")
            page.click("nav a[href='#/gallery']")
            page.wait_for_selector("#gallery .item")
            page.fill("#q", "森林")
            page.wait_for_function("document.querySelectorAll('#gallery .item').length >= 2")
            shot(page, "gallery")
            page.click("nav a[href='#/compare']")
            page.wait_for_selector("#left")
            page.click("#left")
            page.wait_for_selector("#ranking circle")
            shot(page, "compare")
            page.goto(f"{studio}/#/work/{parent}")
            page.click("#evolve")
            page.wait_for_url("**/#/evolve/*")
            assert page.locator("#generation .card").count() == 9
            two_done = "document.querySelectorAll('#generation img').length >= 2"
            page.wait_for_function(two_done, timeout=120_000)
            shot(page, "evolve")
            first = page.url
            page.locator(".favourite").nth(0).check()
            page.locator(".favourite").nth(1).check()
            page.click("#next")
            page.wait_for_function(f"location.href !== {first!r}")
            assert page.locator("#generation .card").count() == 9
            # style transfer of an uploaded photo
            photo, style = tmp_path / "photo.png", tmp_path / "style.png"
            Image.new("RGB", (60, 40), (40, 90, 200)).save(photo)
            Image.new("RGB", (30, 30), (230, 160, 20)).save(style)
            page.goto(f"{studio}/#/create")
            page.fill("#prompt", "my photo, in amber")
            page.uncheck("#m-text")
            page.uncheck("#m-music")
            page.select_option("#e-image", "museforge-style-reinhard")
            page.set_input_files("input[data-role='content']", str(photo))
            page.set_input_files("input[data-role='styles']", str(style))
            page.wait_for_function("document.querySelectorAll('input[data-ref]').length === 2")
            page.click("#make")
            page.wait_for_url("**/#/work/*")
            styled = page.url.rsplit("/", 1)[1]
            page.wait_for_selector(f"main[data-work='{styled}'] .work img", timeout=90_000)
            page.click("#lang")
            assert page.inner_text("nav a[href='#/gallery']") == "Gallery"
        finally:
            browser.close()


@pytest.mark.skipif(not CHROMIUM, reason="no Chromium installed")
def test_a_sculpture_turns_in_3d_forks_and_undoes_and_a_typed_melody_is_harmonised(studio):
    shots = Path(os.environ["MUSEFORGE_STUDIO_SHOTS"]) if os.environ.get("MUSEFORGE_STUDIO_SHOTS") else None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 800}, locale="en-GB")
            page.goto(studio)
            page.fill("#prompt", "an ancient pagoda in the mountains")
            for modality in ("text", "image", "music"):
                page.uncheck(f"#m-{modality}")
            page.check("#m-sculpture")
            page.fill("#seed", "5")
            page.click("#make")
            page.wait_for_url("**/#/work/*")
            first = page.url.rsplit("/", 1)[1]
            drawn = f"main[data-work='{first}'] canvas#sculpture[data-triangles]"
            page.wait_for_selector(drawn, timeout=90_000)
            work = page.evaluate(f"fetch('/api/works/{first}').then((r) => r.json())")
            faces = work["record"]["artifacts"][0]["summary"]["faces"]
            assert page.get_attribute("canvas#sculpture", "data-triangles") == str(faces)
            if shots:
                page.screenshot(path=str(shots / "studio-sculpture.png"), full_page=True)
            # fork: the create page opens with this work's settings; the new work is its child
            page.click("#fork")
            page.wait_for_selector("#fork-of")
            assert page.input_value("#prompt") == "an ancient pagoda in the mountains"
            assert page.is_checked("#m-sculpture") and not page.is_checked("#m-text")
            page.fill("#seed", "6")
            page.click("#make")
            moved = f"location.hash.startsWith('#/work/') && !location.hash.endsWith('{first}')"
            page.wait_for_function(moved)
            fork = page.url.rsplit("/", 1)[1]
            page.wait_for_selector(f"main[data-work='{fork}'] ul.tree a.here")
            assert page.locator("ul.tree a").count() == 2
            page.click("#undo")
            page.wait_for_selector(f"main[data-work='{first}'] ul.tree")
            # a melody typed as notes, harmonised in four parts
            page.goto(f"{studio}/#/create")
            page.fill("#prompt", "a hymn")
            page.uncheck("#m-text")
            page.uncheck("#m-image")
            page.select_option("#e-music", "chorale-harmonizer")
            page.fill("input[data-param='melody']", "E4 D4 C4 D4 E4 E4 E4:2 D4 D4 D4:2 E4 G4 G4:2")
            page.click("#make")
            page.wait_for_url("**/#/work/*")
            hymn = page.url.rsplit("/", 1)[1]
            page.wait_for_selector(f"main[data-work='{hymn}'] #audio", timeout=90_000)
            work = page.evaluate(f"fetch('/api/works/{hymn}').then((r) => r.json())")
            [music] = work["record"]["artifacts"]
            assert music["engine"] == "chorale-harmonizer" and music["params"]["melody"].startswith("E4 D4")
        finally:
            browser.close()
