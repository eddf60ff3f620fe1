"""``kdt-tutor serve``'s uvicorn options: uvicorn's proxy headers off (the app reads
X-Forwarded-For from KDT_TRUSTED_PROXIES only) and a capped graceful shutdown."""

from __future__ import annotations

import inspect

import uvicorn

from kdt_tutor.cli import uvicorn_options
from tutor.settings import Settings


def test_serve_caps_the_shutdown_and_leaves_forwarded_headers_to_the_app(tmp_path) -> None:
    settings = Settings(env="test", data_dir=tmp_path, shutdown_grace_s=7, port=8123)
    options = uvicorn_options(settings, host=None, port=None)
    assert set(options) <= set(inspect.signature(uvicorn.run).parameters)
    # uvicorn.run hands everything but app_dir (its sys.path entry) to its Config.
    config = uvicorn.Config(lambda: None, **{k: v for k, v in options.items() if k != "app_dir"})

    assert config.timeout_graceful_shutdown == 7
    assert config.proxy_headers is False
    assert (config.host, config.port) == ("127.0.0.1", 8123)
