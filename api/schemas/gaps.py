"""Content gaps over HTTP (``/api/gaps``): the questions the material could not answer,
grouped by meaning, and how instructors resolve a group."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, StrictStr


class FaqCreate(BaseModel):
    title: StrictStr = Field(default="", max_length=200)
    answer: StrictStr = Field(max_length=20_000)
    lang: Literal["en", "ko"] = "en"


class OutOfScope(BaseModel):
    note: StrictStr | None = Field(default=None, max_length=2000)


class GapQuestionPublic(BaseModel):
    key: str = Field(description='"gap:<id>" | "down:<message id>"')
    question: str
    lang: str
    source: str = Field(description='"not_covered" | "low_confidence" | "thumbs_down"')
    created_at: str


class GapResolutionPublic(BaseModel):
    id: int
    status: str = Field(description='"answered" | "out_of_scope"')
    title: str
    faq_doc_id: str | None
    question_keys: list[str]
    note: str | None
    created_by: str
    created_at: str


class GapGroupPublic(BaseModel):
    key: str
    label: str
    count: int
    status: str = Field(description='"open" | "answered" | "out_of_scope"')
    weeks: dict[str, int] = Field(description='ISO week ("2026-W47") -> questions asked')
    retrieved: list[tuple[str, int]] = Field(description="(title, times) fallen back on")
    examples: list[GapQuestionPublic]
    resolution: GapResolutionPublic | None


class GapsPublic(BaseModel):
    course: str
    open: list[GapGroupPublic]
    resolved: list[GapGroupPublic]
