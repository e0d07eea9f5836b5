"""The persistent job queue, in the database: submit, claim, progress, finish, cancel, recover.

A job is claimed by an UPDATE that succeeds only while it is still queued, so two workers never
take the same job (on SQLite and PostgreSQL alike, no row locks needed). A running job's worker
writes a heartbeat; ``recover`` puts jobs whose heartbeat went stale (a worker or the whole
server killed) back in the queue. Each job's Work is written atomically into its own folder,
named by the work's id, before the job is marked done: a job whose folder is already complete
when it is claimed again is marked done without running, so a job is never lost and never run
twice to completion.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlalchemy as sa

from museforge.studio.db import jobs, now, works

ACTIVE = ("queued", "running")
TERMINAL = ("done", "failed", "cancelled")


class QueueFull(Exception):
    """The queue holds as many jobs as it may; try again later (HTTP 429)."""


def new_id() -> str:
    return uuid.uuid4().hex[:16]


def submit(
    engine: sa.Engine,
    owner: str,
    request: dict[str, Any],
    *,
    max_queue: int,
    parent: str | None = None,
    engines: str = "",
) -> tuple[str, str]:
    """Queue one create job; returns (work id, job id). Raises QueueFull when ``max_queue`` jobs
    are queued or running."""
    work_id, job_id = new_id(), new_id()
    stamp = now()
    with engine.begin() as conn:
        active = conn.execute(sa.select(sa.func.count()).select_from(jobs).where(jobs.c.state.in_(ACTIVE)))
        if active.scalar_one() >= max_queue:
            raise QueueFull(f"{max_queue} jobs are waiting; try again in a moment")
        conn.execute(
            works.insert().values(
                id=work_id,
                owner=owner,
                state="pending",
                prompt=request["prompt"],
                lang=request.get("lang"),
                mood=request.get("emotion"),
                engines=engines,
                seed=request["seed"],
                parent=parent,
                request=json.dumps(request, ensure_ascii=False),
                created=stamp,
            )
        )
        conn.execute(
            jobs.insert().values(id=job_id, owner=owner, work_id=work_id, state="queued", created=stamp)
        )
    return work_id, job_id


def claim(engine: sa.Engine, worker: str) -> dict[str, Any] | None:
    """The oldest queued job, now running under ``worker``; None when the queue is empty."""
    for _ in range(5):  # another worker may win the race for the same row: take the next one
        with engine.begin() as conn:
            row = conn.execute(
                sa.select(jobs.c.id)
                .where(jobs.c.state == "queued")
                .order_by(jobs.c.created, jobs.c.id)
                .limit(1)
            ).first()
            if row is None:
                return None
            stamp = now()
            taken = conn.execute(
                jobs.update()
                .where(jobs.c.id == row.id, jobs.c.state == "queued")
                .values(
                    state="running",
                    worker=worker,
                    heartbeat=stamp,
                    started=stamp,
                    stage="starting",
                    progress=0.0,
                    attempts=jobs.c.attempts + 1,
                )
            )
            if taken.rowcount == 1:
                job = conn.execute(sa.select(jobs).where(jobs.c.id == row.id)).mappings().one()
                work = conn.execute(sa.select(works.c.request).where(works.c.id == job["work_id"])).one()
                return {**job, "request": json.loads(work.request)}
    return None


def report(engine: sa.Engine, job_id: str, stage: str, fraction: float) -> bool:
    """Record progress and the heartbeat; returns True when the person asked to cancel."""
    with engine.begin() as conn:
        conn.execute(
            jobs.update()
            .where(jobs.c.id == job_id, jobs.c.state == "running")
            .values(stage=stage[:200], progress=max(0.0, min(1.0, fraction)), heartbeat=now())
        )
        return bool(conn.execute(sa.select(jobs.c.cancel).where(jobs.c.id == job_id)).scalar_one())


def beat(engine: sa.Engine, job_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            jobs.update().where(jobs.c.id == job_id, jobs.c.state == "running").values(heartbeat=now())
        )


def finish(engine: sa.Engine, job_id: str, work_id: str, record: dict[str, Any]) -> None:
    """The job is done and its work made: one transaction for both rows."""
    moods = record.get("emotion") or {}
    with engine.begin() as conn:
        conn.execute(
            works.update()
            .where(works.c.id == work_id)
            .values(
                state="done",
                record=json.dumps(record, ensure_ascii=False),
                lang=record.get("lang"),
                mood=moods.get("label") if isinstance(moods, dict) else None,
            )
        )
        conn.execute(
            jobs.update()
            .where(jobs.c.id == job_id)
            .values(state="done", stage="done", progress=1.0, finished=now(), error=None)
        )


def fail(engine: sa.Engine, job_id: str, work_id: str, error: str, state: str = "failed") -> None:
    with engine.begin() as conn:
        conn.execute(
            jobs.update().where(jobs.c.id == job_id).values(state=state, error=error[:2000], finished=now())
        )
        conn.execute(works.update().where(works.c.id == work_id).values(state=state))


def cancel(engine: sa.Engine, job_id: str) -> str:
    """Cancel a queued job at once, a running one at its next progress report; returns the state."""
    with engine.begin() as conn:
        conn.execute(
            jobs.update()
            .where(jobs.c.id == job_id, jobs.c.state == "queued")
            .values(state="cancelled", finished=now(), cancel=True)
        )
        conn.execute(jobs.update().where(jobs.c.id == job_id, jobs.c.state == "running").values(cancel=True))
        job = conn.execute(sa.select(jobs.c.state, jobs.c.work_id).where(jobs.c.id == job_id)).one()
        if job.state == "cancelled":
            conn.execute(works.update().where(works.c.id == job.work_id).values(state="cancelled"))
        return job.state


def recover(engine: sa.Engine, stale_after: float) -> int:
    """Jobs left running by a worker that stopped beating for ``stale_after`` seconds go back to
    the queue (cancelled ones are closed); returns how many were requeued."""
    limit = now() - stale_after
    with engine.begin() as conn:
        stale = (jobs.c.state == "running") & ((jobs.c.heartbeat < limit) | jobs.c.heartbeat.is_(None))
        conn.execute(jobs.update().where(stale & jobs.c.cancel).values(state="cancelled", finished=now()))
        done = conn.execute(jobs.update().where(stale).values(state="queued", worker=None, stage="requeued"))
        return done.rowcount


def get_job(engine: sa.Engine, job_id: str, owner: str | None = None) -> dict[str, Any] | None:
    query = sa.select(jobs).where(jobs.c.id == job_id)
    if owner is not None:
        query = query.where(jobs.c.owner == owner)
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(jobs.c.state, sa.func.count()).group_by(jobs.c.state)).all()
    return {state: n for state, n in rows}
