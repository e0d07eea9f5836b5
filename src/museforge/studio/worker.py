"""The worker: claims jobs from the queue and runs each through ``create``, reporting progress
and a heartbeat, honouring cancellation; ``serve`` is one worker process's loop."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from museforge.errors import MuseforgeError
from museforge.studio import queue

HEARTBEAT_SECONDS = 2.0
REPORT_EVERY = 0.25
"""Seconds between progress writes (a stage change is always written)."""


class Cancelled(Exception):
    """The person cancelled the job."""


def work_folder(data: Path, work_id: str) -> Path:
    return data / "works" / work_id


def options(request: dict[str, Any], out: Path, data: Path, owner: str) -> Any:
    """The ``create`` options of a studio request (a dict checked by the API); uploads and
    built-in assets named in its inputs are read again here."""
    from museforge.create import CreateOptions
    from museforge.studio.uploads import resolve_all

    return CreateOptions(
        prompt=request["prompt"],
        seed=int(request["seed"]),
        out=out,
        emotion=request.get("emotion"),
        lang=request.get("lang"),
        modalities=tuple(request["modalities"]),
        engines=dict(request.get("engines") or {}),
        params={k: dict(v) for k, v in (request.get("params") or {}).items()},
        seeds={k: int(v) for k, v in (request.get("seeds") or {}).items()},
        allow_copy=bool(request.get("allow_copy")),
        inputs=resolve_all(request.get("inputs") or {}, data, owner, dict(request.get("engines") or {})),
    )


def run_job(engine: sa.Engine, data: Path, job: dict[str, Any]) -> str:
    """Run one claimed job to its end; returns its final state."""
    from museforge.create import create_work

    folder = work_folder(data, job["work_id"])
    if (folder / "work.json").is_file():  # an earlier attempt wrote it, then its worker died
        queue.finish(engine, job["id"], job["work_id"], json.loads((folder / "work.json").read_text("utf-8")))
        return "done"
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(sa.exc.SQLAlchemyError):  # the next beat tries again
                queue.beat(engine, job["id"])

    last = {"stage": "", "at": 0.0}

    def progress(stage: str, fraction: float) -> None:
        t = time.monotonic()
        if stage == last["stage"] and t - last["at"] < REPORT_EVERY and fraction < 1.0:
            return
        last.update(stage=stage, at=t)
        if queue.report(engine, job["id"], stage, fraction):
            raise Cancelled

    beater = threading.Thread(target=heartbeat, daemon=True)
    beater.start()
    try:
        create_work(options(job["request"], folder, data, job["owner"]), progress)
        queue.finish(engine, job["id"], job["work_id"], json.loads((folder / "work.json").read_text("utf-8")))
        return "done"
    except Cancelled:
        queue.fail(engine, job["id"], job["work_id"], "cancelled", state="cancelled")
        return "cancelled"
    except MuseforgeError as err:  # said for the studio: no server paths, no command-line hints
        text = str(err).replace(str(folder), "the work's folder").replace(str(data), "the studio's folder")
        queue.fail(engine, job["id"], job["work_id"], text.replace("; choose another --out", ""))
        return "failed"
    except OSError as err:  # a full disk, a folder that vanished: the work's folder is never half-written
        what = err.strerror or type(err).__name__
        queue.fail(engine, job["id"], job["work_id"], f"cannot write the work: {what}")
        return "failed"
    except Exception as err:  # one bad job must not stop the worker
        queue.fail(engine, job["id"], job["work_id"], f"internal error: {type(err).__name__}: {err}")
        return "failed"
    finally:
        stop.set()


def serve(url: str, data: str, name: str, stop: Any = None, poll: float = 0.2) -> None:
    """One worker process: claim and run jobs until ``stop`` (an Event) is set."""
    from museforge.studio.db import connect

    engine = connect(url)
    data_path = Path(data)
    while stop is None or not stop.is_set():
        job = queue.claim(engine, name)
        if job is None:
            time.sleep(poll)
            continue
        run_job(engine, data_path, job)
