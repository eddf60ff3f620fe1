"""The FastAPI application factory (``uvicorn api.app:create_app --factory``)."""

from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles

from api import console_pages, pages
from api.auth import install_auth_handlers, optional_auth
from api.errors import install_error_handlers
from api.nul_bytes import reject_nul_bytes
from api.request_limits import BodyLimitMiddleware, body_limits, form_limits
from api.request_metrics import RequestMetricsMiddleware
from api.routes import (
    admin,
    analytics,
    auth,
    authoring,
    chat,
    gaps,
    health,
    kb_admin,
    learner,
    metrics,
    openai_compat,
    reviews,
    search,
)
from api.security_headers import SecurityHeadersMiddleware
from tutor.accounts.login_throttle import LoginThrottle
from tutor.rate_limit import RateLimiter
from tutor.review.static_checks import warm_up as warm_up_static_checks
from tutor.schema import upgrade as upgrade_schema
from tutor.services import Services, build_services
from tutor.settings import Settings

log = logging.getLogger("kdt.api")


def _warm_up(services: Services) -> None:
    # Load models and the BM25 index before the first request, not during it.
    kb = services.kb
    kb.search("warm up 준비")  # loads both embedding models and the Korean analyser
    log.info("knowledge base ready: %s documents, %s chunks", *kb.registry.counts())
    warm_up_static_checks()  # the linters' first run costs ~0.4 s; pay it before requests
    # KDT_SANDBOX=bubblewrap where bubblewrap does not work stops startup here (ConfigError).
    log.info("code review sandbox: %s", services.pipeline.sandbox.name)
    # Console jobs that a killed or crashed server left queued or running are failed with
    # the reason and their staging files removed, now rather than at the first console
    # request (then on every heartbeat of this process: tutor/curation/kb_workers.py).
    services.kb_admin.recover()
    # Group each course's open content gaps in the background, so the instructors' first
    # gaps page does not wait for a search per question.
    gaps = services.gaps
    for course in kb.registry.courses():
        gaps.refresh(course)
    # The offline answerer embeds the sentences it quotes; embed the course's ahead of the
    # questions, in the background and at low priority (cold answers cost ~10x warm ones).
    threading.Thread(
        target=_warm_answers, args=(services.chat,), name="answer-warm-up", daemon=True
    ).start()


def _warm_answers(chat_service) -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)  # this thread only
    except (AttributeError, OSError):  # not Linux: run at normal priority
        pass
    started = time.perf_counter()
    try:
        count = chat_service.warm_up()
    except Exception:  # a warm-up failure must never stop the server
        log.exception("answer warm-up failed")
        return
    log.info("answer warm-up: %d course texts in %.1f s", count, time.perf_counter() - started)


def create_app(*, services: Services | None = None, warm_up: bool = True) -> FastAPI:
    """The app over ``services``; without them, over ``build_services(Settings())``, which
    the app then owns: it brings their database to the newest migration when it starts
    (``tutor/schema.py``) and closes them when it stops (tests hand in their own, on a
    database they made, and close them)."""
    owned = services is None
    services = services if services is not None else build_services(Settings())

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if owned:
            upgrade_schema(services.engine)  # one read when `serve` has done it already
        if warm_up:
            _warm_up(services)
        yield
        if owned:
            services.close()  # let running test jobs finish and store their reviews

    settings = services.settings
    app = FastAPI(
        title="kdt-tutor",
        version="0.1.0",
        description="Grounded, level-adaptive tutor for K-Digital Training courses.",
        lifespan=lifespan,
        form_limits=form_limits(settings),  # Form/File parameters; the CSRF check agrees
        dependencies=[Depends(reject_nul_bytes)],  # 422 for a NUL in any text (api/nul_bytes)
    )
    app.state.services = services
    window = settings.login_lockout_s
    app.state.login_throttle = LoginThrottle(
        max_failures=settings.login_max_failures,
        max_account_failures=settings.login_max_account_failures,
        max_address_failures=settings.login_max_address_failures,
        window_s=window,
        lockout_s=window,
    )
    app.state.chat_limiter = RateLimiter(limit=settings.chat_per_minute, what="questions")
    # Pages and JSON compress well (the cohort heatmap page: 842 KB -> 54 KB); server-sent
    # events (chat streaming) are never compressed (Starlette excludes text/event-stream).
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(SecurityHeadersMiddleware)
    # Added last, so it runs first: an oversized body is refused before anything reads it.
    default_limit, route_limits = body_limits(settings)
    app.add_middleware(BodyLimitMiddleware, default=default_limit, prefixes=route_limits)
    # Outermost: every request's latency, refusals included, per route template (/metrics).
    app.add_middleware(RequestMetricsMiddleware, metrics=services.metrics)
    install_error_handlers(app)
    install_auth_handlers(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(search.router)
    app.include_router(chat.router)
    app.include_router(openai_compat.router)
    app.include_router(learner.router)
    app.include_router(reviews.router)
    app.include_router(admin.router)
    app.include_router(analytics.router)
    app.include_router(gaps.router)
    app.include_router(authoring.router)
    app.include_router(kb_admin.router)
    app.include_router(auth.router)
    app.include_router(auth.page_router)
    # Pages stay public; this only tells their top bar who is logged in (request.state.user).
    app.include_router(pages.router, dependencies=[Depends(optional_auth)])
    app.include_router(console_pages.router, dependencies=[Depends(optional_auth)])
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    return app
