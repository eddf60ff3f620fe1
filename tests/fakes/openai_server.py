"""A scripted OpenAI-compatible HTTP server: the LLM for tests, never a fake of our code.

Run it as a subprocess (``python -m tests.fakes.openai_server --port N``) so the real
``ChatOpenAI``/``openai`` client talks real HTTP to it. It speaks:

- ``POST /v1/chat/completions``: a ``chat.completion`` JSON body, or with ``"stream": true``
  a ``text/event-stream`` of ``data: {chat.completion.chunk}`` lines ending in
  ``data: [DONE]``;
- ``GET /v1/models``.

Scripting (test-only endpoints):

- ``POST /_script`` with a JSON list of steps, appended to the queue and consumed one per
  completion request. A step is ``{"content": str, "stream_chunks": [str, ...],
  "status": 429|500|503|401|..., "error_message": str, "delay_s": float,
  "chunk_delay_s": float, "fail_after_chunks": int, "keepalive_s": float,
  "keepalive_for_s": float, "raw_body": str}``; every key is optional. ``delay_s`` holds
  the response back (a hanging endpoint); ``keepalive_s`` sends an SSE comment line
  (``: keep-alive``) that often for ``keepalive_for_s`` seconds before the first chunk (an
  endpoint that trickles bytes but no tokens); ``raw_body`` answers 200 with that text as
  it is (garbage). With an empty queue the server answers ``DEFAULT_CONTENT``.
- ``GET /_calls``: every completion request body received, in order.
- ``POST /_reset``: empty the queue and the call log.

``start_fake_openai()`` starts it on a free port and returns ``(process, base_url)``;
``ScriptClient`` wraps the scripting endpoints with httpx.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

DEFAULT_CONTENT = "This is the scripted default answer."
REPO = Path(__file__).resolve().parents[2]

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "forbidden"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


class StreamDropped(Exception):
    """Raised inside the response body generator to drop the connection mid-stream."""


def create_app():
    """The Starlette app; state lives in the app, one queue and call log per process."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    script: deque[dict[str, Any]] = deque()
    calls: list[dict[str, Any]] = []

    def error_body(status: int, message: str | None) -> dict[str, Any]:
        kind, code = _ERROR_TYPES.get(status, ("server_error", None))
        return {
            "error": {
                "message": message or f"Scripted error {status}",
                "type": kind,
                "param": None,
                "code": code,
            }
        }

    def chunk(cid: str, model: str, delta: dict, finish: str | None = None) -> str:
        body = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        return f"data: {json.dumps(body)}\n\n"

    async def completions(request: Request) -> Response:
        body = await request.json()
        calls.append(body)
        step = script.popleft() if script else {}
        if step.get("delay_s"):
            await asyncio.sleep(float(step["delay_s"]))
        status = step.get("status")
        if status and status >= 400:
            return JSONResponse(error_body(status, step.get("error_message")), status_code=status)
        if "raw_body" in step:
            return Response(step["raw_body"], media_type="text/plain")
        content = step.get("content", DEFAULT_CONTENT)
        model = body.get("model", "fake-model")
        cid = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        if not body.get("stream"):
            return JSONResponse(
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": content},
                            "logprobs": None,
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
            )
        pieces = step.get("stream_chunks") or _split(content)
        fail_after = step.get("fail_after_chunks")
        chunk_delay = float(step.get("chunk_delay_s") or 0)

        keepalive_s = float(step.get("keepalive_s") or 0)
        keepalive_for_s = float(step.get("keepalive_for_s") or 0)

        async def events() -> AsyncIterator[str]:
            if keepalive_s:
                until = time.monotonic() + keepalive_for_s
                while time.monotonic() < until:
                    yield ": keep-alive\n\n"
                    await asyncio.sleep(keepalive_s)
            yield chunk(cid, model, {"role": "assistant", "content": ""})
            for i, piece in enumerate(pieces):
                if fail_after is not None and i >= fail_after:
                    raise StreamDropped("scripted mid-stream drop")
                if chunk_delay:
                    await asyncio.sleep(chunk_delay)
                yield chunk(cid, model, {"content": piece})
            yield chunk(cid, model, {}, finish="stop")
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async def models(request: Request) -> Response:
        return JSONResponse(
            {"object": "list", "data": [{"id": "fake-model", "object": "model", "owned_by": "kdt"}]}
        )

    async def set_script(request: Request) -> Response:
        steps = await request.json()
        if not isinstance(steps, list):
            return JSONResponse({"error": "expected a JSON list of steps"}, status_code=422)
        script.extend(steps)
        return JSONResponse({"queued": len(script)})

    async def get_calls(request: Request) -> Response:
        return JSONResponse(calls)

    async def reset(request: Request) -> Response:
        script.clear()
        calls.clear()
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", completions, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/_script", set_script, methods=["POST"]),
            Route("/_calls", get_calls, methods=["GET"]),
            Route("/_reset", reset, methods=["POST"]),
        ]
    )


def _split(content: str) -> list[str]:
    """Default streaming pieces: words with their trailing whitespace."""
    return re.findall(r"\S+\s*|\s+", content) or [""]


# --- process helpers for tests ---------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_fake_openai(*, timeout_s: float = 20.0) -> tuple[subprocess.Popen, str]:
    """Start the server in a subprocess on a free port; returns (process, base_url ending /v1)."""
    port = free_port()
    pythonpath = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": pythonpath}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openai_server", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    root = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"fake OpenAI server exited with {proc.returncode}")
        try:
            if httpx.get(f"{root}/v1/models", timeout=1).status_code == 200:
                return proc, f"{root}/v1"
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop_fake_openai(proc)
    raise RuntimeError(f"fake OpenAI server did not answer within {timeout_s} s")


def stop_fake_openai(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


class ScriptClient:
    """Drives the scripting endpoints of a running server (``base_url`` ends in ``/v1``)."""

    def __init__(self, base_url: str) -> None:
        self.root = base_url.rstrip("/").removesuffix("/v1")

    def script(self, *steps: dict[str, Any]) -> None:
        httpx.post(f"{self.root}/_script", json=list(steps), timeout=5).raise_for_status()

    def calls(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.root}/_calls", timeout=5)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        httpx.post(f"{self.root}/_reset", timeout=5).raise_for_status()


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="critical")


if __name__ == "__main__":
    main()
