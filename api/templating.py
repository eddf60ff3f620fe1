"""The one place that renders templates (``api/templates/``): the Jinja environment, ``render``
for every page (``api/pages.py``, ``api/console_pages.py``, the login form, the error page),
and the i18n globals every template gets.

Every template sees ``t`` (the translator of the page's language, ``api/i18n.py``), ``lang``
and ``switch_url`` (this page in the other language). A ``?lang=`` the page honoured is kept
in the ``kdt_lang`` cookie for the next pages.
"""

from __future__ import annotations

from pathlib import Path

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
    # The language switch keeps the page's query (e.g. the search being looked at).
    switch_url = str(request.url.include_query_params(lang=other).replace(scheme="", netloc=""))
    return {"t": translator(lang), "lang": lang, "switch_url": switch_url}


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
