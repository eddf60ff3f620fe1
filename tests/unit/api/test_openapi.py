"""Every JSON route of the API says what it returns (``response_model``), so the OpenAPI
schema shows a type for each, and that schema builds.

A JSON route is one under ``/api`` or ``/v1`` whose response class is FastAPI's default
(JSON) and that has a body (not 204). Server-sent event streams, SVG charts and file
downloads declare their own ``response_class`` and are not JSON routes; pages are not under
``/api``. A bare ``dict``/``list[dict]`` return type does not count as a model.
"""

from __future__ import annotations

import typing

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel

from api.app import create_app

JSON_PREFIXES = ("/api/", "/v1/")


def _is_model(annotation) -> bool:
    """A pydantic model, or a list of them."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        return _is_model(item)
    return False


def json_routes(app: FastAPI) -> list:
    routes = []
    for route in iter_route_contexts(app.routes):
        path, methods = route.path or "", route.methods or set()
        if not path.startswith(JSON_PREFIXES) or not methods or route.endpoint is None:
            continue
        response_class = getattr(route.response_class, "value", route.response_class)
        if response_class is not JSONResponse or route.status_code == 204:
            continue
        routes.append(route)
    return routes


def untyped(app: FastAPI) -> list[str]:
    """``METHOD path`` of each JSON route without a response model."""
    return sorted(
        f"{'/'.join(sorted(r.methods))} {r.path}"
        for r in json_routes(app)
        if not _is_model(r.response_model)
    )


def test_every_json_api_route_has_a_response_model() -> None:
    app = create_app(warm_up=False)
    found = {f"{'/'.join(sorted(r.methods))} {r.path}" for r in json_routes(app)}
    # the walk reaches every router's routes (a walk that found none would pass vacuously)
    assert {
        "GET /api/health",
        "GET /api/conversations",
        "POST /api/messages/{message_id}/feedback",
        "GET /v1/models",
        "POST /v1/chat/completions",
        "POST /api/reviews",
        "GET /api/kb/documents/{doc_id:path}/chunks",
        "POST /api/authoring/{course}/exercises",
        "GET /api/gaps",
        "DELETE /api/admin/users/{user_id}",
    } <= found
    assert len(found) >= 60
    # not JSON: streams, charts, downloads, 204
    assert "POST /api/chat" not in found
    assert "GET /api/analytics/heatmap.svg" not in found
    assert "GET /api/me/export" not in found
    assert "DELETE /api/conversations/{conversation_id}" not in found
    assert untyped(app) == []


def test_the_walk_flags_a_route_that_returns_a_bare_dict() -> None:
    app = FastAPI()
    router = APIRouter(prefix="/api/x")

    class Thing(BaseModel):
        name: str

    @router.get("/untyped")
    def untyped_route() -> dict:
        return {}

    @router.get("/typed", response_model=list[Thing])
    def typed_route() -> list[dict]:
        return []

    app.include_router(router)
    assert untyped(app) == ["GET /api/x/untyped"]


def _schema(openapi: dict, path: str, method: str, status: str = "200") -> dict:
    response = openapi["paths"][path][method]["responses"][status]
    return response["content"]["application/json"]["schema"]


def test_the_openapi_schema_builds_with_a_type_for_each_json_route() -> None:
    app = create_app(warm_up=False)
    openapi = app.openapi()
    assert openapi["info"]["title"] == "kdt-tutor"
    for route in json_routes(app):
        for method in route.methods:
            status = str(route.status_code or 200)
            schema = _schema(openapi, route.path_format, method.lower(), status)
            ref = schema.get("$ref") or schema.get("items", {}).get("$ref")
            assert ref, f"{method} {route.path}: {schema}"
    components = openapi["components"]["schemas"]
    conversations = _schema(openapi, "/api/conversations", "get")
    assert conversations["items"] == {"$ref": "#/components/schemas/ConversationPublic"}
    assert set(components["DocumentPublic"]["properties"]) >= {
        "doc_id",
        "version",
        "hidden",
        "overrides",
        "source",
    }
    assert set(components["ChatCompletionPublic"]["properties"]) == {
        "id",
        "object",
        "created",
        "model",
        "choices",
        "usage",
        "citations",
        "tutor",
    }


def test_every_operation_declares_the_error_body_it_sends() -> None:
    """Refusals are ``{"error": {"code", "message"}}`` (OpenAI's shape under /v1), and the
    schema says so; FastAPI's default 422 body (``detail``), never sent, is not declared."""
    openapi = create_app(warm_up=False).openapi()
    operations = [
        (path, method, op)
        for path, methods in openapi["paths"].items()
        for method, op in methods.items()
    ]
    assert len(operations) >= 60
    for path, method, op in operations:
        expected = "OpenAIErrorPublic" if path.startswith("/v1/") else "ErrorPublic"
        error = op["responses"]["4XX"]["content"]["application/json"]["schema"]
        assert error == {"$ref": f"#/components/schemas/{expected}"}, (method, path)
        assert "422" not in op["responses"] or path.startswith("/api/authoring/"), (method, path)
    components = openapi["components"]["schemas"]
    assert "HTTPValidationError" not in components
    assert set(components["ErrorDetailPublic"]["required"]) == {"code", "message"}
