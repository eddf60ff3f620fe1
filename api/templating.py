"""The one place that renders templates (``api/templates/``): the Jinja environment, ``render``
for every page (``api/pages.py``, ``api/console_pages.py``, the login form, the error page),
and the i18n globals every template gets.

Every template sees ``t`` (the translator of the page's language, ``api/i18n.py``), ``lang``
and ``switch_url`` (this page in the other language). A ``?lang=`` the page honoured is kept
in the ``kdt_lang`` cookie for the next pages.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.i18n import pick_lang, translator

TEMPLATES = Path(__file__).with_name("templates")
LANG_COOKIE_SECONDS = 365 * 24 * 3600

templates = Jinja2Templates(directory=str(TEMPLATES))


def i18n_globals(request: Request) -> dict:
    """What every template gets: ``t``, ``lang`` and ``switch_url``."""
    lang = pick_lang(request)
    other = "en" if lang == "ko" else "ko"
    return {"t": translator(lang), "lang": lang, "switch_url": switch_url(request, lang=other)}


def switch_url(request: Request, *, lang: str) -> str:
    """This page in ``lang``, as a path on this site: the query is kept (e.g. the search being
    looked at). A path like ``//evil.example/x`` (a 404's) starts with one slash here, never
    two, so the link cannot be read as another host."""
    path = quote("/" + request.url.path.lstrip("/\\"))
    query = urlencode(
        [*((k, v) for k, v in request.query_params.multi_items() if k != "lang"), ("lang", lang)]
    )
    return f"{path}?{query}"


def render(request: Request, name: str, *, status: int = 200, **context) -> HTMLResponse:
    """The template ``name`` with ``context`` and the i18n globals, as an HTML response."""
    page = i18n_globals(request)
    response = templates.TemplateResponse(request, name, {**page, **context}, status_code=status)
    if request.query_params.get("lang") == page["lang"]:
        response.set_cookie(
            "kdt_lang", page["lang"], max_age=LANG_COOKIE_SECONDS, samesite="lax", httponly=True
        )
    return response


def render_error(request: Request, *, status: int, message: str) -> HTMLResponse:
    """The error page (``error.html``) with ``status``: what pages show for the JSON errors."""
    return render(request, "error.html", status=status, status_code=status, message=message)
