"""The studio's HTTP API (FastAPI; OpenAPI at ``/openapi.json``), which its pages use too."""

from __future__ import annotations

import asyncio
import json
import mimetypes
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from museforge.errors import MuseforgeError
from museforge.studio import auth, queue
from museforge.studio.db import connect, jobs, migrate, now, ratings, works

MAX_VARIATIONS = 9
LOCAL_USER = "local"
STATIC = Path(__file__).with_name("static")
PUBLIC = {"/api/login", "/api/logout", "/api/session"}
"""API paths open without a session in multi-user mode (the pages and /healthz are open too)."""
STATIC_FILES = {
    "index.html": "text/html",
    "studio.js": "text/javascript",
    "studio.css": "text/css",
    "viewer.js": "text/javascript",
    "viewer.LICENSE.txt": "text/plain",
}
MAX_HISTORY = 500
"""The most works one history tree shows (the oldest branches beyond it are left out)."""


@dataclass
class Settings:
    url: str
    data: Path
    max_queue: int = 64
    stale_after: float = 15.0
    multi_user: bool = False
    creates_per_minute: int = 30
    """Multi-user mode: works (and variations) one person may ask for per minute; more are
    answered 429. The single local user is bounded by the queue alone."""
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))


class WorkIn(BaseModel):
    prompt: str = Field(description="the theme, in Chinese or English", max_length=4000)
    emotion: str | None = Field(
        None, description="one of the eight moods; detected from the prompt when absent"
    )
    lang: str | None = Field(None, description="zh or en; detected when absent")
    modalities: list[str] = Field(
        ["text", "image", "music"], description="any of text, image, music, sculpture"
    )
    engines: dict[str, str] = Field({}, description="modality -> engine name (see GET /api/engines)")
    params: dict[str, dict[str, Any]] = Field({}, description="modality or engine -> parameter values")
    seed: int | None = Field(None, description="0 to 2^53-1; random when absent")
    seeds: dict[str, int] = Field({}, description="seeds of single modalities (keep one, remake others)")
    parent: str | None = Field(None, description="the work this one reworks (the history tree)")
    allow_copy: bool = Field(
        False, description="keep an artifact the originality check calls a copy (the record says so)"
    )
    inputs: dict[str, list[str]] = Field(
        {},
        description="'modality.role' or 'engine.role' -> ['upload:SHA256' or 'builtin:NAME']",
    )


class PoemCheckIn(BaseModel):
    text: str = Field(max_length=20_000)
    form: str = Field(description="wujue, qijue, wulv, qilv, sonnet, haiku, ...")
    rhymes: str = Field("modern", description="the rhyme book of Chinese forms")


class VariationsIn(BaseModel):
    count: int = Field(4, ge=1, le=MAX_VARIATIONS, description="how many variations")
    keep: list[str] = Field([], description="modalities to keep as they are (their seeds are reused)")
    params: dict[str, dict[str, Any]] = Field({}, description="parameter nudges, merged into the original's")


class EvolveIn(BaseModel):
    parents: list[str] = Field(min_length=1, max_length=MAX_VARIATIONS, description="the favourites")
    count: int = Field(MAX_VARIATIONS, ge=1, le=MAX_VARIATIONS, description="children in the next generation")
    rate: float = Field(0.5, ge=0.0, le=1.0, description="chance that each setting mutates")
    seed: int | None = Field(None, ge=0, description="seed of the mutations (random when absent)")


class RatingIn(BaseModel):
    a: str
    b: str
    winner: str = Field(description="a or b's id: the better of the two")


class LoginIn(BaseModel):
    name: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class Created(BaseModel):
    work_id: str
    job_id: str


def _engines_of(request: dict[str, Any]) -> dict[str, str]:
    """Modality -> engine name, the defaults filled in."""
    from museforge.engines import default_engine

    chosen = dict(request.get("engines") or {})
    return {m: chosen.get(m) or default_engine(m).name for m in request["modalities"]}


def _checked(request: dict[str, Any], data: Path, owner: str) -> dict[str, Any]:
    """The request checked as ``create`` checks it (engines, parameters, ranges, input files),
    with a seed."""
    from museforge.create import CreateOptions, parse_modalities, plan_steps
    from museforge.runtime import resolve_seed
    from museforge.studio.uploads import resolve_all

    request = dict(request)
    request["seed"] = resolve_seed(request.get("seed"))
    request["modalities"] = list(parse_modalities(",".join(request.get("modalities") or [])))
    engines = {**(request.get("engines") or {})}
    inputs = resolve_all(
        request.get("inputs") or {}, data, owner, _engines_of({**request, "engines": engines})
    )
    opts = CreateOptions(
        prompt=request["prompt"],
        seed=request["seed"],
        out=data / "unused",
        emotion=request.get("emotion"),
        lang=request.get("lang"),
        modalities=tuple(request["modalities"]),
        engines=engines,
        params=request.get("params") or {},
        seeds=dict(request.get("seeds") or {}),
        inputs=inputs,
    )
    steps = plan_steps(opts)
    request["engines"] = {s.modality: s.engine.name for s in steps}
    return request


def _builtin_names(engine: Any, role: str) -> list[str]:
    """Built-in inputs an engine offers for a role (named ``builtin:NAME`` in a request)."""
    finder = getattr(engine, "builtin_names", None)
    return list(finder(role)) if finder else []


def _node_json(row: Any) -> dict[str, Any]:
    """A work as one node of a history tree: its picture (if any) stands for it."""
    record = json.loads(row["record"]) if row["record"] else {}
    pictures = [f["name"] for a in record.get("artifacts", []) for f in a.get("files", [])
                if f["name"].endswith(".png") and not f["name"].startswith("piano")]
    out = {k: row[k] for k in ("id", "parent", "prompt", "state", "created")}
    return {**out, "engines": row["engines"].split(), "picture": pictures[0] if pictures else None}


def _work_json(row: Any) -> dict[str, Any]:
    out = {k: row[k] for k in ("id", "state", "prompt", "lang", "mood", "seed", "parent", "created")}
    out["engines"] = row["engines"].split()
    out["request"] = json.loads(row["request"])
    out["record"] = json.loads(row["record"]) if row["record"] else None
    return out


def create_app(settings: Settings) -> FastAPI:
    engine = connect(settings.url)
    migrate(engine)
    settings.data.mkdir(parents=True, exist_ok=True)
    app = FastAPI(
        title="museforge studio",
        version="1",
        description="Create works, follow their jobs, vary them, rate them. Every work is a "
        "signed, reproducible museforge Work.",
    )
    app.state.engine, app.state.settings = engine, settings

    def owner(request: Request) -> str:
        return getattr(request.state, "user", None) or LOCAL_USER

    limiter = auth.RateLimit(settings.creates_per_minute, 60.0)

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Any:
        """Cross-site writes are refused; in multi-user mode every API call needs a session and
        every write its CSRF token."""
        writes = request.method not in ("GET", "HEAD", "OPTIONS")
        if writes and not auth.same_site(
            request.headers.get("origin"), request.headers.get("sec-fetch-site"), request.headers.get("host")
        ):
            return JSONResponse({"error": "requests from other sites are refused"}, status_code=403)
        if settings.multi_user:
            token = request.cookies.get(auth.SESSION_COOKIE)
            user = await asyncio.to_thread(auth.session_user, engine, token)
            request.state.user = user
            path = request.url.path
            if user is None and path.startswith("/api/") and path not in PUBLIC:
                return JSONResponse({"error": "sign in first"}, status_code=401)
            if (
                writes
                and path not in PUBLIC
                and not secrets.compare_digest(
                    request.headers.get("x-csrf-token", ""), auth.csrf_token(settings.secret, token or "")
                )
            ):
                return JSONResponse(
                    {"error": "missing or wrong CSRF token; reload the page"}, status_code=403
                )
        return await call_next(request)

    @app.post("/api/login")
    def login(body: LoginIn) -> JSONResponse:
        """Multi-user mode: sign in; sets the session cookie (HttpOnly) and the CSRF cookie."""
        if not settings.multi_user:
            raise MuseforgeError("this studio has one local user; there is nothing to sign in to")
        if not auth.check_password(engine, body.name, body.password):
            return JSONResponse({"error": "wrong name or password"}, status_code=401)
        token = auth.new_session(engine, body.name)
        answer = JSONResponse({"user": body.name, "csrf": auth.csrf_token(settings.secret, token)})
        answer.set_cookie(
            auth.SESSION_COOKIE, token, max_age=auth.SESSION_SECONDS, httponly=True, samesite="lax", path="/"
        )
        answer.set_cookie(
            auth.CSRF_COOKIE,
            auth.csrf_token(settings.secret, token),
            max_age=auth.SESSION_SECONDS,
            samesite="strict",
            path="/",
        )
        return answer

    @app.post("/api/logout")
    def logout(request: Request) -> JSONResponse:
        auth.end_session(engine, request.cookies.get(auth.SESSION_COOKIE))
        answer = JSONResponse({"ok": True})
        answer.delete_cookie(auth.SESSION_COOKIE, path="/")
        answer.delete_cookie(auth.CSRF_COOKIE, path="/")
        return answer

    @app.get("/api/session")
    def session(request: Request) -> dict[str, Any]:
        """Who is signed in, whether this studio has accounts, and the CSRF token for writes."""
        token = request.cookies.get(auth.SESSION_COOKIE)
        user = getattr(request.state, "user", None)
        return {
            "multi_user": settings.multi_user,
            "user": user if settings.multi_user else LOCAL_USER,
            "csrf": auth.csrf_token(settings.secret, token) if settings.multi_user and user else None,
        }

    @app.exception_handler(MuseforgeError)
    async def _bad_input(_: Request, err: MuseforgeError) -> JSONResponse:
        return JSONResponse({"error": str(err)}, status_code=400)

    @app.exception_handler(queue.QueueFull)
    async def _full(_: Request, err: queue.QueueFull) -> JSONResponse:
        return JSONResponse({"error": str(err)}, status_code=429, headers={"Retry-After": "5"})

    def submit(request: Request, body: dict[str, Any], parent: str | None = None) -> Created:
        if settings.multi_user and not limiter.allow(owner(request)):
            raise queue.QueueFull(f"at most {settings.creates_per_minute} works a minute; try again shortly")
        checked = _checked(body, settings.data, owner(request))
        names = " " + " ".join(checked["engines"].values()) + " "
        work_id, job_id = queue.submit(
            engine, owner(request), checked, max_queue=settings.max_queue, parent=parent, engines=names
        )
        return Created(work_id=work_id, job_id=job_id)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> FileResponse:
        if name not in STATIC_FILES:
            raise HTTPException(404, "no such file")
        return FileResponse(STATIC / name, media_type=STATIC_FILES[name])

    @app.get("/api/mood")
    def mood(prompt: str = Query(..., max_length=4000)) -> dict[str, Any]:
        """The mood museforge reads in a prompt (what ``emotion`` defaults to)."""
        from museforge.jobs import check_prompt, resolve_emotion, resolve_language

        text = check_prompt(prompt)
        feeling = resolve_emotion(text, resolve_language(text, None), None)
        return {"label": feeling.label, "valence": feeling.valence, "arousal": feeling.arousal}

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return {"ok": True, "jobs": queue.counts(engine)}

    @app.get("/api/engines")
    def list_engines() -> list[dict[str, Any]]:
        """Every installed engine with its parameters (type, default, range or choices, help); each
        modality's default engine (the highest priority) comes first."""
        from museforge.engines import describe, load_engines

        out = []
        for name, cls in sorted(load_engines().items(), key=lambda kv: (-kv[1].priority, kv[0])):
            params = [
                {
                    "name": i.name,
                    "type": i.type.__name__,
                    "default": i.default,
                    "help": i.help,
                    "range": i.range,
                    "choices": i.choices,
                }
                for i in describe(cls.Params)
            ]
            out.append(
                {
                    "name": name,
                    "priority": cls.priority,
                    "modality": cls.modality,
                    "description": cls.description,
                    "inputs": [
                        {
                            "role": i.role,
                            "kind": i.kind,
                            "help": i.help,
                            "required": i.required,
                            "multiple": i.multiple,
                            "builtins": _builtin_names(cls, i.role),
                        }
                        for i in cls.inputs
                    ],
                    "params": params,
                }
            )
        return out

    @app.post("/api/works", response_model=Created, status_code=202)
    def create(body: WorkIn, request: Request) -> Created:
        """Queue a new work; follow it with GET /api/jobs/{job_id} or its /events stream."""
        fields = body.model_dump()
        parent = fields.pop("parent")
        if parent is not None:
            work_row(parent, request)  # one's own work, or 404
        return submit(request, fields, parent=parent)

    @app.post("/api/poems/check")
    def check_poem(body: PoemCheckIn) -> dict[str, Any]:
        """A poem against a form: every fault in words (what ``museforge poem --check`` says)."""
        from museforge.text.forms import FORMS
        from museforge.text.forms import check_poem as check

        if body.form not in FORMS:
            raise MuseforgeError(f"form {body.form!r}: choose one of {', '.join(FORMS)}")
        faults = check(body.text, body.form, body.rhymes)
        return {"form": body.form, "valid": not faults, "violations": [v.to_dict() for v in faults]}

    @app.post("/api/uploads", status_code=201)
    async def upload(request: Request, file: UploadFile) -> dict[str, Any]:
        """A photo (PNG, JPEG, WebP, ...) or a MIDI melody, checked by its content; returns the id
        to name it by in a work's ``inputs``."""
        from museforge.studio.uploads import MAX_BYTES, save

        payload = await file.read(max(MAX_BYTES.values()) + 1)
        if len(payload) > max(MAX_BYTES.values()):
            raise MuseforgeError(f"the file is larger than {max(MAX_BYTES.values()) // 2**20} MiB")
        return await asyncio.to_thread(save, settings.data, owner(request), payload)

    @app.get("/api/jobs/{job_id}")
    def get_job(job_id: str, request: Request) -> dict[str, Any]:
        job = queue.get_job(engine, job_id, owner(request))
        if job is None:
            raise HTTPException(404, "no such job")
        return {
            k: job[k]
            for k in (
                "id",
                "work_id",
                "state",
                "stage",
                "progress",
                "error",
                "attempts",
                "created",
                "started",
                "finished",
            )
        }

    @app.post("/api/jobs/{job_id}/cancel")
    def cancel(job_id: str, request: Request) -> dict[str, Any]:
        if queue.get_job(engine, job_id, owner(request)) is None:
            raise HTTPException(404, "no such job")
        return {"id": job_id, "state": queue.cancel(engine, job_id)}

    @app.get("/api/jobs/{job_id}/events")
    async def events(job_id: str, request: Request) -> StreamingResponse:
        """Server-sent events: one ``data:`` line of the job's JSON at each change, until it ends."""
        who = owner(request)
        if queue.get_job(engine, job_id, who) is None:
            raise HTTPException(404, "no such job")

        async def stream() -> Any:
            last = None
            while True:
                job = await asyncio.to_thread(queue.get_job, engine, job_id, who)
                view = {k: job[k] for k in ("id", "work_id", "state", "stage", "progress", "error")}
                if view != last:
                    yield f"data: {json.dumps(view, ensure_ascii=False)}\n\n"
                    last = view
                if job["state"] in queue.TERMINAL or await request.is_disconnected():
                    return
                await asyncio.sleep(0.25)

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    def work_row(work_id: str, request: Request) -> Any:
        with engine.connect() as conn:
            row = (
                conn.execute(sa.select(works).where(works.c.id == work_id, works.c.owner == owner(request)))
                .mappings()
                .first()
            )
        if row is None:
            raise HTTPException(404, "no such work")
        return row

    @app.get("/api/works/{work_id}")
    def get_work(work_id: str, request: Request) -> dict[str, Any]:
        """The work's request, state and (once made) its record and files."""
        out = _work_json(work_row(work_id, request))
        folder = settings.data / "works" / work_id
        out["files"] = sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
        with engine.connect() as conn:
            job = conn.execute(sa.select(jobs.c.id).where(jobs.c.work_id == work_id)).first()
        out["job_id"] = job.id if job else None
        return out

    @app.get("/api/works/{work_id}/files/{name}")
    def get_file(work_id: str, name: str, request: Request) -> FileResponse:
        work_row(work_id, request)
        folder = settings.data / "works" / work_id
        names = {p.name: p for p in folder.iterdir() if p.is_file()} if folder.is_dir() else {}
        if name not in names:  # a name from the listing, never a path built from the request
            raise HTTPException(404, "no such file")
        media = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return FileResponse(names[name], media_type=media)

    @app.get("/api/works")
    def search(
        request: Request,
        q: str = Query("", max_length=200),
        mood: str = "",
        engine_name: str = Query("", alias="engine"),
        state: str = "",
        parent: str = "",
        order: str = Query("newest", pattern="^(newest|rating)$"),
        limit: int = Query(50, ge=1, le=200),
        offset: int = Query(0, ge=0),
    ) -> dict[str, Any]:
        """Works by prompt words, mood, engine, state or parent (its variations); newest first or by
        rating."""
        query = sa.select(works).where(works.c.owner == owner(request))
        for word in q.split()[:8]:
            query = query.where(works.c.prompt.ilike(f"%{_escape(word)}%", escape="\\"))
        if mood:
            query = query.where(works.c.mood == mood)
        if engine_name:
            query = query.where(works.c.engines.like(f"% {_escape(engine_name)} %", escape="\\"))
        if state:
            query = query.where(works.c.state == state)
        if parent:
            query = query.where(works.c.parent == parent)
        with engine.connect() as conn:
            rows = conn.execute(query.order_by(works.c.created.desc(), works.c.id)).mappings().all()
        items = [_work_json(r) for r in rows]
        if order == "rating":
            scores = {k: v.score for k, v in _rankings(owner(request)).items()}
            items.sort(key=lambda w: -scores.get(w["id"], float("-inf")))
        return {"total": len(items), "works": items[offset : offset + limit]}

    @app.get("/api/works/{work_id}/verify")
    def verify(work_id: str, request: Request) -> dict[str, Any]:
        """What ``museforge verify`` says of the work's folder: the signature, who signed, and
        each file against its recorded hash."""
        from museforge.work import verify_folder

        row = work_row(work_id, request)
        folder = settings.data / "works" / work_id
        if row["state"] != "done" or not (folder / "work.json").is_file():
            raise HTTPException(409, "the work is not made yet")
        found = verify_folder(folder)
        signer = found.signer
        return {
            "intact": found.intact,
            "signed": found.signed,
            "signer": {"name": signer.name or signer.claimed_name, "trust": signer.trust,
                       "key": signer.public_key[:16]} if signer else None,
            "files": [{"name": f.name, "status": f.status, "detail": f.detail} for f in found.files],
            "problems": found.problems,
        }

    @app.get("/api/works/{work_id}/history")
    def history(work_id: str, request: Request) -> dict[str, Any]:
        """The history tree the work belongs to: its first ancestor (``root``) and every work made
        from it by variation, rewriting, evolution or a fork, each with its parent. Undo is going
        back to a parent; a fork is a new child of any node."""
        who = owner(request)
        row = work_row(work_id, request)
        columns = (works.c.id, works.c.parent, works.c.prompt, works.c.state, works.c.created,
                   works.c.engines, works.c.record)
        with engine.connect() as conn:
            root, seen = row, {row["id"]}
            while root["parent"] and len(seen) < MAX_HISTORY:
                up = sa.select(*columns).where(works.c.id == root["parent"], works.c.owner == who)
                found = conn.execute(up).mappings().first()
                if found is None or found["id"] in seen:
                    break
                root = found
                seen.add(found["id"])
            nodes, frontier = [root], [root["id"]]
            while frontier and len(nodes) < MAX_HISTORY:
                query = (sa.select(*columns)
                         .where(works.c.parent.in_(frontier), works.c.owner == who)
                         .order_by(works.c.created, works.c.id)
                         .limit(MAX_HISTORY - len(nodes)))
                children = conn.execute(query).mappings().all()
                nodes += children
                frontier = [c["id"] for c in children]
        return {"root": root["id"], "current": work_id, "works": [_node_json(n) for n in nodes]}

    @app.post("/api/works/{work_id}/variations", response_model=list[Created], status_code=202)
    def variations(work_id: str, body: VariationsIn, request: Request) -> list[Created]:
        """The same request with new seeds (and any parameter nudges); modalities in ``keep``
        keep their seeds, so they come back byte for byte while the others change."""
        from museforge.runtime import MAX_SEED, derive_seed

        row = work_row(work_id, request)
        base = json.loads(row["request"])
        unknown = [m for m in body.keep if m not in base["modalities"]]
        if unknown:
            raise MuseforgeError(f"keep: {unknown[0]!r} is not one of this work's modalities")
        params = {k: dict(v) for k, v in (base.get("params") or {}).items()}
        for owner_name, values in body.params.items():
            params.setdefault(owner_name, {}).update(values)
        made = []
        for i in range(body.count):
            seed = (base["seed"] + 1 + i) & MAX_SEED
            kept = {
                m: base.get("seeds", {}).get(m, derive_seed(base["seed"], m) & MAX_SEED) for m in body.keep
            }
            made.append(
                submit(request, {**base, "seed": seed, "params": params, "seeds": kept}, parent=work_id)
            )
        return made

    @app.post("/api/evolve", response_model=list[Created], status_code=202)
    def evolve(body: EvolveIn, request: Request) -> list[Created]:
        """The next generation: ``count`` children of the favourites (in turn), each with mutated
        settings and a new seed; each child's parent is the favourite it came from."""
        import random

        from museforge.studio.evolve import mutate

        rng = random.Random(body.seed if body.seed is not None else secrets.randbits(63))
        parents = [json.loads(work_row(p, request)["request"]) for p in body.parents]
        return [
            submit(
                request,
                mutate(parents[i % len(parents)], rng, body.rate),
                parent=body.parents[i % len(parents)],
            )
            for i in range(body.count)
        ]

    def _rankings(who: str) -> dict[str, Any]:
        from museforge.evaluate.ratings import bradley_terry

        with engine.connect() as conn:
            rows = conn.execute(sa.select(ratings).where(ratings.c.owner == who)).mappings().all()
        return bradley_terry((r["winner"], r["b"] if r["winner"] == r["a"] else r["a"]) for r in rows)

    @app.post("/api/ratings", status_code=201)
    def rate(body: RatingIn, request: Request) -> dict[str, Any]:
        """One pairwise choice: ``winner`` is the better of works ``a`` and ``b``."""
        if body.a == body.b or body.winner not in (body.a, body.b):
            raise MuseforgeError("give two different works and a winner that is one of them")
        for work_id in (body.a, body.b):
            if work_row(work_id, request)["state"] != "done":
                raise MuseforgeError(f"work {work_id} is not finished")
        with engine.begin() as conn:
            conn.execute(
                ratings.insert().values(
                    owner=owner(request), a=body.a, b=body.b, winner=body.winner, created=now()
                )
            )
        return {"ok": True}

    @app.get("/api/rankings")
    def rankings(request: Request) -> list[dict[str, Any]]:
        """Bradley–Terry scores (log-strengths) with 95 % intervals, best first."""
        return [
            {"work_id": k, "score": v.score, "low": v.low, "high": v.high, "wins": v.wins, "games": v.games}
            for k, v in _rankings(owner(request)).items()
        ]

    return app


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
