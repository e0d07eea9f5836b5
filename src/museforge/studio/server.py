"""``museforge studio``: the API and pages under uvicorn, worker processes for the jobs, and a
recovery loop that requeues jobs whose worker died."""

from __future__ import annotations

import multiprocessing
import os
import threading
from pathlib import Path

from museforge.studio.api import Settings, create_app

RECOVER_EVERY = 5.0


def run(settings: Settings, host: str, port: int, workers: int) -> None:
    import uvicorn

    from museforge.studio import queue, worker

    app = create_app(settings)
    engine = app.state.engine
    queue.recover(engine, 0.0)  # nothing runs before we start: every 'running' job was interrupted
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    procs = [
        context.Process(
            target=worker.serve,
            args=(settings.url, str(settings.data), f"w{os.getpid()}-{i}", stop),
            daemon=True,
            name=f"museforge-worker-{i}",
        )
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    done = threading.Event()

    def recovery() -> None:
        while not done.wait(max(1.0, min(RECOVER_EVERY, settings.stale_after / 2))):
            queue.recover(engine, settings.stale_after)
            for i, proc in enumerate(procs):  # a worker that died (killed, out of memory) is replaced
                if not proc.is_alive() and not stop.is_set():
                    procs[i] = context.Process(
                        target=worker.serve,
                        daemon=True,
                        name=proc.name,
                        args=(settings.url, str(settings.data), f"w{os.getpid()}-{i}r", stop),
                    )
                    procs[i].start()

    threading.Thread(target=recovery, daemon=True).start()
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        done.set()
        stop.set()
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()


def data_folder(data: str | None) -> Path:
    from museforge.keys import home

    return Path(data).expanduser() if data else home() / "studio"
