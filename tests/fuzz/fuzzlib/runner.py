"""The runner: each case in its own folder, its outcome judged and kept."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from .assets import Assets
from .core import CLOSED, GOOD, Case, ForkServer, Outcome, judge, run_inprocess, run_process, snapshot

# ---------------------------------------------------------------- the runner


class Runner:
    """Runs cases, each in its own folder under ``root``, and keeps their outcomes."""

    def __init__(self, root: Path, assets: Assets | None = None) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.assets = assets or Assets.build(self.root / "assets")
        self.outcomes: list[Outcome] = []
        self._count = 0
        self._server: ForkServer | None = None

    def folder(self, name: str) -> Path:
        self._count += 1
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)[:60].strip("-.") or "case"
        path = self.root / "cases" / f"{self._count:04d}-{slug}"
        path.mkdir(parents=True)
        return path

    def record(self, outcome: Outcome) -> Outcome:
        self.outcomes.append(outcome)
        return outcome

    def run(self, case: Case) -> Outcome:
        folder = self.folder(case.name)
        try:
            if case.setup:
                case.setup(folder, self.assets)
            argv = [
                a.replace("{A}", str(self.assets.path)).replace("{C}", str(folder))
                if isinstance(a, str)
                else a
                for a in case.argv
            ]
            env = {
                k: v.replace("{A}", str(self.assets.path)).replace("{C}", str(folder))
                for k, v in case.env.items()
            }
            before = snapshot(folder)
            if case.process:
                result = run_process(
                    argv,
                    folder,
                    stdin=case.stdin if case.stdin != CLOSED else None,
                    env=env,
                    timeout=case.timeout,
                    redirect=case.redirect + (" <&-" if case.stdin == CLOSED else ""),
                )
            else:
                result = run_inprocess(
                    argv,
                    folder,
                    stdin=case.stdin,
                    stdin_errors=case.stdin_errors,
                    env=env,
                    timeout=case.timeout,
                )
            after = snapshot(folder)
            kind, detail = judge(case, result, before, after, folder)
        finally:
            if case.teardown:
                case.teardown(folder)
        if kind in GOOD:
            self.discard(folder)
        return self.record(Outcome(case.category, case.name, kind, detail, result.seconds, case.known))

    def discard(self, folder: Path) -> None:
        """Remove a case's folder (kept only when its outcome was bad, to look into)."""
        if not any(os.path.ismount(Path(d)) for d, _, _ in os.walk(folder)):
            shutil.rmtree(folder, ignore_errors=True)

    def server(self) -> ForkServer:
        if self._server is None:
            self._server = ForkServer(self.root / "forker-io")
        return self._server

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
