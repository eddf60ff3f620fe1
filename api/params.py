"""Path and query parameter types several routes share.

``RowId`` is a database id (a user's, for now): an integer the database can hold. Ids are
``INTEGER`` columns, 32 bits on PostgreSQL (64 on SQLite), so a larger number would make the
driver fail (SQLite: ``OverflowError``; PostgreSQL: out of range) after the request was let
through. Declared on the parameter, the bound answers 422 before any service is asked, and
the OpenAPI schema says what is accepted. Every path or query parameter that names a row by
its number uses it: ``user_id: RowId``, ``Annotated[RowId | None, Query(...)]``.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Interval

MAX_ROW_ID = 2**31 - 1  # PostgreSQL's INTEGER; ids start at 1

RowId = Annotated[int, Interval(ge=1, le=MAX_ROW_ID)]
