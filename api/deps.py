"""FastAPI dependencies: the web app's composition root.

Settings are read once (``get_settings``); backends are built from them once per process
and handed to routes through typed aliases. Tests swap them with
``app.dependency_overrides``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from fastapi import Depends

from knowledge.config import KnowledgeConfig
from knowledge.knowledge_base import KnowledgeBase, build_knowledge_base
from tutor.settings import Settings


@lru_cache
def get_settings() -> Settings:
    return Settings()


@lru_cache
def _knowledge_base(config: KnowledgeConfig) -> KnowledgeBase:
    # One per process and configuration: it holds the loaded models and index clients.
    return build_knowledge_base(config)


def get_knowledge_base(settings: Annotated[Settings, Depends(get_settings)]) -> KnowledgeBase:
    return _knowledge_base(settings.knowledge_config())


SettingsDep = Annotated[Settings, Depends(get_settings)]
KnowledgeBaseDep = Annotated[KnowledgeBase, Depends(get_knowledge_base)]
