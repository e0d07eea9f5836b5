"""Bulk generation: one Work per prompt of a file, in this process, in worker processes or on a
Ray cluster, each Work the same, byte for byte, as ``museforge create`` makes for its prompt and seed.

A prompt file holds one prompt per line (blank lines and ``#`` comments skipped), or JSON objects,
one a line: ``{"prompt": ..., "seed": ..., "mood": ..., "modalities": ..., "lang": ...}``. Prompt
``i`` gets its own seed or one derived from the batch seed and ``i`` (so it does not depend on how
the work is split), and the folder ``DIR/NNNN-slug``. Each Work is built in a hidden folder and
renamed into place; a Work already there that verifies is skipped, so an interrupted batch resumes
where it stopped. A prompt that fails is recorded with its one-line error and the rest go on.
``DIR/batch.json`` lists every prompt, its seed, folder, status and seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from museforge.create import CreateOptions, parse_modalities, slugify
from museforge.errors import MuseforgeError
from museforge.files import read_at_most
from museforge.runtime import MAX_SEED, check_seed, derive_seed, resolve_seed

MAX_PROMPTS = 9_999
"""The most prompts in one file (folders are numbered 0001 to 9999)."""
MAX_LINES = 100_000
"""The most lines in a prompt file, comments and blank lines included."""
MAX_LINE_CHARS = 16_384
"""The longest line of a prompt file, in characters."""
MAX_FILE_BYTES = 64 * 1024 * 1024
BATCH_FILE = "batch.json"
JSON_KEYS = ("prompt", "seed", "mood", "modalities", "lang")

MADE, SKIPPED, FAILED, PENDING = "made", "skipped", "failed", "pending"


@dataclass(frozen=True)
class Item:
    """One prompt of a batch: where it came from, what to make, and where it goes."""

    index: int
    line: int
    prompt: str
    seed: int
    folder: str
    emotion: str | None = None
    modalities: tuple[str, ...] | None = None
    lang: str | None = None


@dataclass
class Result:
    """What became of one prompt."""

    item: Item
    status: str = PENDING
    seconds: float = 0.0
    error: str = ""
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "line": self.item.line,
            "prompt": self.item.prompt,
            "seed": self.item.seed,
            "folder": self.item.folder,
            "status": self.status,
            "seconds": self.seconds,
        }
        modalities = list(self.item.modalities) if self.item.modalities else None
        own = {"mood": self.item.emotion, "modalities": modalities, "lang": self.item.lang}
        entry.update({k: v for k, v in own.items() if v is not None})
        if self.error:
            entry["error"] = self.error
        if self.notes:
            entry["notes"] = self.notes
        return entry


OnResult = Callable[[Result, int, int], None]
"""Called as each prompt ends: its result, how many have ended, how many there are."""


def _no_report(result: Result, done: int, total: int) -> None:
    pass


# ---------------------------------------------------------------- reading prompts


def read_prompts(path: Path, seed: int) -> list[Item]:
    """The prompts of a file, checked, with their seeds and folders; a one-line error naming the
    line for anything wrong (nothing runs until the whole file has been read)."""
    from museforge.jobs import check_prompt

    name = str(path)
    try:
        data = read_at_most(path, MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise MuseforgeError(f"{name}: no such file; give a file with one prompt per line") from None
    except OSError as exc:
        raise MuseforgeError(f"{name}: cannot read it ({exc.strerror or exc})") from None
    if len(data) > MAX_FILE_BYTES:
        raise MuseforgeError(
            f"{name} is larger than {MAX_FILE_BYTES // 2**20} MiB; split it into smaller files"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise MuseforgeError(f"{name} line {line}: not UTF-8 text; save the file as UTF-8") from None
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise MuseforgeError(f"{name} has {len(lines):,} lines; the limit is {MAX_LINES:,}: split it")
    items: list[Item] = []
    for number, raw in enumerate(lines, 1):
        where = f"{name} line {number}"
        if len(raw) > MAX_LINE_CHARS:
            raise MuseforgeError(f"{where}: {len(raw):,} characters; the limit is {MAX_LINE_CHARS:,} a line")
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if len(items) == MAX_PROMPTS:
            raise MuseforgeError(f"{where}: more than {MAX_PROMPTS:,} prompts; split the file")
        fields = _json_line(stripped, where) if stripped.startswith("{") else {"prompt": raw}
        try:
            prompt = check_prompt(fields["prompt"])
        except MuseforgeError as err:
            raise MuseforgeError(f"{where}: {err}") from None
        index = len(items)
        own = fields.get("seed")
        items.append(
            Item(
                index=index,
                line=number,
                prompt=prompt,
                seed=own if own is not None else derive_seed(seed, f"batch-{index}") & MAX_SEED,
                folder=f"{index + 1:04d}-{slugify(prompt)}",
                emotion=fields.get("mood"),
                modalities=fields.get("modalities"),
                lang=fields.get("lang"),
            )
        )
    if not items:
        raise MuseforgeError(f"{name} holds no prompt; write one prompt per line ('#' starts a comment)")
    return items


def _json_line(text: str, where: str) -> dict[str, Any]:
    """One JSON Lines entry, checked: its prompt, and its seed, mood, modalities and language."""
    from museforge.emotion.moods import MOODS

    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as err:
        reason = str(err).splitlines()[0][:80] if str(err) else "nested too deeply"
        raise MuseforgeError(
            f'{where}: not valid JSON ({reason}); write {{"prompt": "..."}} or a plain prompt'
        ) from None
    if not isinstance(data, dict):
        raise MuseforgeError(f'{where}: a JSON line must be an object such as {{"prompt": "..."}}')
    unknown = [k for k in data if k not in JSON_KEYS]
    if unknown:
        raise MuseforgeError(f"{where}: unknown key {str(unknown[0])[:40]!r}; use {', '.join(JSON_KEYS)}")
    if not isinstance(data.get("prompt"), str):
        raise MuseforgeError(f'{where}: "prompt" must be given as a string')
    seed = data.get("seed")
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise MuseforgeError(f'{where}: "seed" must be a whole number from 0 to {MAX_SEED}')
        try:
            check_seed(seed)
        except MuseforgeError as err:
            raise MuseforgeError(f"{where}: {err}") from None
    mood = data.get("mood")
    if mood is not None and (not isinstance(mood, str) or mood not in MOODS):
        raise MuseforgeError(f"{where}: unknown mood {str(mood)[:40]!r}; choose from: {', '.join(MOODS)}")
    lang = data.get("lang")
    if lang is not None and lang not in ("zh", "en"):
        raise MuseforgeError(f"{where}: unknown language {str(lang)[:20]!r}; choose zh or en")
    modalities = data.get("modalities")
    if modalities is not None:
        if isinstance(modalities, list) and all(isinstance(m, str) for m in modalities):
            modalities = ",".join(modalities)
        if not isinstance(modalities, str):
            raise MuseforgeError(f'{where}: "modalities" must be a list such as ["text", "music"]')
        try:
            data["modalities"] = parse_modalities(modalities)
        except MuseforgeError as err:
            raise MuseforgeError(f"{where}: {err}") from None
    return data


# ---------------------------------------------------------------- the batch record


def batch_seed(out: Path, seed: int | None) -> int:
    """The seed asked for; else the one an earlier run of this batch recorded (so a resumed batch
    makes what the first run would have); else a fresh one."""
    if seed is None:
        earlier = _read_record(out).get("seed")
        if isinstance(earlier, int) and not isinstance(earlier, bool) and 0 <= earlier <= MAX_SEED:
            return earlier
    return resolve_seed(seed)


def _read_record(out: Path) -> dict[str, Any]:
    path = out / BATCH_FILE
    try:
        data = json.loads(read_at_most(path, MAX_FILE_BYTES).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _earlier_failures(out: Path, items: Sequence[Item]) -> dict[int, str]:
    """Index -> error of the prompts an earlier run recorded as failed (same prompt, seed, folder)."""
    earlier = _read_record(out).get("prompts")
    if not isinstance(earlier, list):
        return {}
    by_folder = {item.folder: item for item in items}
    failed = {}
    for entry in earlier:
        if not isinstance(entry, dict) or entry.get("status") != FAILED:
            continue
        item = by_folder.get(str(entry.get("folder")))
        if item is not None and entry.get("prompt") == item.prompt and entry.get("seed") == item.seed:
            failed[item.index] = str(entry.get("error", "failed in an earlier run"))
    return failed


def write_record(out: Path, seed: int, results: Sequence[Result]) -> None:
    """``DIR/batch.json``, replaced whole (never half written)."""
    from museforge.work import write_atomic

    data = {"format": 1, "seed": seed, "prompts": [r.to_json() for r in results]}
    write_atomic(out / BATCH_FILE, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode())


# ---------------------------------------------------------------- one prompt


def item_options(item: Item, base: CreateOptions, out: Path) -> CreateOptions:
    """The ``create`` options of one prompt: the batch's, with the prompt's own seed, folder,
    mood, modalities and language."""
    return replace(
        base,
        prompt=item.prompt,
        seed=item.seed,
        out=out / item.folder,
        emotion=item.emotion or base.emotion,
        lang=item.lang or base.lang,
        modalities=item.modalities or base.modalities,
        overwrite=False,
    )


def existing(opts: CreateOptions) -> bool:
    """Whether ``opts.out`` already holds this very Work, intact; False when it holds nothing. A
    folder holding something else is an error (it is never replaced)."""
    from museforge.work import MANIFEST, load_record, verify_folder

    folder = opts.out
    if not folder.exists():
        return False
    if not folder.is_dir():
        raise MuseforgeError(f"{folder} is not a folder; move it away or use another --out")
    if not (folder / MANIFEST).is_file():
        if any(folder.iterdir()):
            raise MuseforgeError(f"{folder} holds files but no Work; move them away or use another --out")
        return False
    if not verify_folder(folder).intact:
        raise MuseforgeError(
            f"{folder} holds a Work that does not verify ('museforge verify' says why); "
            "move it away to make it again"
        )
    record = load_record(folder)
    made = tuple(a.modality for a in record.artifacts)
    if record.prompt != opts.prompt or record.seed != opts.seed or made != tuple(opts.modalities):
        raise MuseforgeError(
            f"{folder} holds a Work of another prompt, seed or modalities; move it away or use another --out"
        )
    return True


def run_local(item: Item, base: CreateOptions, out: Path) -> Result:
    """Make one prompt's Work with the ``create`` job (built in a hidden folder, renamed into
    place); skip it when it is already there. Never raises for a fault of the prompt."""
    from museforge.create import create_work

    started = time.perf_counter()
    opts = item_options(item, base, out)
    try:
        if existing(opts):
            return Result(item, SKIPPED)
        _, notes = create_work(opts)
    except MuseforgeError as err:
        return Result(item, FAILED, _elapsed(started), _one_line(str(err)))
    except Exception as err:  # a fault of an engine: recorded, the batch goes on
        return Result(item, FAILED, _elapsed(started), _one_line(f"{type(err).__name__}: {err}"))
    return Result(item, MADE, _elapsed(started), notes=list(notes))


def make_work(opts: CreateOptions) -> Any:
    """The ``create`` job's Work in memory, for a process that cannot write the output folder
    (a Ray node): the same checks and steps as :func:`museforge.create.create_work`; an error
    comes back as its one-line text."""
    from museforge.create import plan_steps
    from museforge.jobs import check_prompt, run_steps

    _one_thread()
    try:
        prompt = check_prompt(opts.prompt)
        steps = plan_steps(opts)
        return run_steps(
            steps,
            prompt=prompt,
            seed=opts.seed,
            emotion=opts.emotion,
            lang=opts.lang,
            device=opts.device,
            allow_copy=opts.allow_copy,
        )
    except MuseforgeError as err:
        return _one_line(str(err))
    except Exception as err:
        return _one_line(f"{type(err).__name__}: {err}")


def _elapsed(started: float) -> float:
    return round(time.perf_counter() - started, 3)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


# ---------------------------------------------------------------- runners


def run_batch(
    items: Sequence[Item],
    base: CreateOptions,
    out: Path,
    *,
    seed: int,
    workers: int = 1,
    ray_address: str | None = None,
    retry_failed: bool = False,
    on_result: OnResult = _no_report,
) -> list[Result]:
    """Make every prompt's Work into ``out``: in this process (``workers=1``), in ``workers``
    processes, or as one Ray task each on the cluster at ``ray_address``; ``batch.json`` is
    rewritten as each prompt ends. Returns the results in prompt order."""
    if workers < 1:
        raise MuseforgeError(f"--workers {workers}: give 1 or more")
    if ray_address is not None:
        import_ray()
        check_reachable(ray_address)
    check_plans(items, base, out)
    _check_out(out)
    results = [Result(item) for item in items]
    todo = list(items)
    if not retry_failed:
        for index, error in _earlier_failures(out, items).items():
            results[index] = Result(items[index], FAILED, 0.0, error)
        todo = [item for item in items if results[item.index].status == PENDING]
    write_record(out, seed, results)
    done = len(items) - len(todo)

    def finished(result: Result) -> None:
        nonlocal done
        done += 1
        results[result.item.index] = result
        write_record(out, seed, results)
        on_result(result, done, len(items))

    try:
        if ray_address is not None:
            _run_ray(todo, base, out, ray_address, finished)
        elif workers == 1 or len(todo) <= 1:
            for item in todo:
                finished(run_local(item, base, out))
        else:
            _run_pool(todo, base, out, workers, finished)
    finally:
        write_record(out, seed, results)
    return results


def check_plans(items: Sequence[Item], base: CreateOptions, out: Path) -> None:
    """Every engine, parameter and input checked (once per set of modalities) before anything runs."""
    from museforge.create import plan_steps

    seen: set[tuple[str, ...]] = set()
    for item in items:
        opts = item_options(item, base, out)
        if tuple(opts.modalities) not in seen:
            seen.add(tuple(opts.modalities))
            plan_steps(opts)


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise MuseforgeError(f"{out} exists and is not a folder; choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MuseforgeError(f"cannot make {out}: {exc.strerror or exc}; choose another --out") from None


def _run_pool(
    items: Sequence[Item], base: CreateOptions, out: Path, workers: int, finished: Callable[[Result], None]
) -> None:
    """Each prompt a task of a pool of ``workers`` fresh processes (one torch thread each)."""
    import multiprocessing

    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(items)),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_one_thread,
    )
    try:
        pending: dict[Future, Item] = {pool.submit(run_local, item, base, out): item for item in items}
        while pending:
            ended, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in ended:
                item = pending.pop(future)
                try:
                    result = future.result()
                except Exception as err:  # the worker process died (killed, out of memory)
                    result = Result(item, FAILED, 0.0, _one_line(f"the worker stopped: {err}"))
                finished(result)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _run_ray(
    items: Sequence[Item], base: CreateOptions, out: Path, address: str, finished: Callable[[Result], None]
) -> None:
    """One Ray task per prompt (one CPU each) on the cluster at ``address``; each Work comes back
    here and is written into ``out`` as it arrives."""
    ray = import_ray()
    todo: list[tuple[Item, CreateOptions]] = []
    for item in items:
        opts = item_options(item, base, out)
        try:
            if existing(opts):
                finished(Result(item, SKIPPED))
                continue
        except MuseforgeError as err:
            finished(Result(item, FAILED, 0.0, _one_line(str(err))))
            continue
        todo.append((item, opts))
    if not todo:
        return
    with _ray_session(ray, address):
        task = ray.remote(num_cpus=1, max_retries=1)(make_work)
        started = time.perf_counter()
        pending = {task.remote(opts): (item, opts) for item, opts in todo}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            item, opts = pending.pop(ready[0])
            finished(_save_remote(ray, ready[0], item, opts, started))


def _save_remote(ray: Any, ref: Any, item: Item, opts: CreateOptions, started: float) -> Result:
    from museforge.originality.service import originality_notes

    try:
        work = ray.get(ref)
        if isinstance(work, str):
            return Result(item, FAILED, _elapsed(started), work)
        work.save(opts.out)
    except MuseforgeError as err:
        return Result(item, FAILED, _elapsed(started), _one_line(str(err)))
    except Exception as err:  # a task lost with its node
        return Result(item, FAILED, _elapsed(started), _one_line(f"{type(err).__name__}: {err}"))
    notes = [
        *(w for a in work.record.artifacts for w in a.warnings),
        *originality_notes(work.record.originality),
    ]
    return Result(item, MADE, round(work.record.seconds, 3), notes=notes)


def import_ray() -> Any:
    """The ``ray`` module, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise MuseforgeError(
            "--ray needs Ray, which is not installed; run: pip install 'museforge[scale]'"
        ) from None
    return ray


@contextlib.contextmanager
def _ray_session(ray: Any, address: str) -> Iterator[None]:
    """Connected to the cluster at ``address`` for the block. ``MUSEFORGE_*`` settings go to the
    tasks, so that a cluster on this machine signs with this person's key."""
    import logging

    env = {k: v for k, v in os.environ.items() if k.startswith("MUSEFORGE_")}
    try:
        ray.init(
            address=address,
            log_to_driver=False,
            logging_level=logging.ERROR,
            runtime_env={"env_vars": env} if env else None,
        )
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as err:
        raise MuseforgeError(
            f"cannot join the Ray cluster at {address} ({_one_line(str(err))[:160]}); check the address, and "
            "for a cluster with token authentication set RAY_AUTH_MODE=token and its token (see Ray's docs)"
        ) from None
    try:
        yield
    finally:
        ray.shutdown()


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """A one-line error, at once, when nothing answers at a ``HOST:PORT`` address (Ray itself
    would keep trying for minutes); ``auto`` is left to Ray."""
    if address == "auto":
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise MuseforgeError(f"--ray {address[:80]}: give 'auto' or HOST:PORT of the cluster's head")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as err:
        raise MuseforgeError(
            f"nothing answers at {address[:80]} ({err.strerror or err}); start a cluster with "
            "'ray start --head' or check the address"
        ) from None


def summary(results: Sequence[Result]) -> dict[str, int]:
    """How many prompts ended in each status."""
    counts = {MADE: 0, SKIPPED: 0, FAILED: 0, PENDING: 0}
    for result in results:
        counts[result.status] += 1
    return counts
