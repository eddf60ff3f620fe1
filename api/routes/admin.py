"""Administration: accounts (admins manage instructors, trainees and their courses) and
privacy (a user's data exported or deleted). Admins only (the access policy's
``accounts`` rules, ``tutor/accounts/access.py``), except ``GET /api/me/export``: everyone may
download what is stored about them.

- ``GET /api/admin/users?role=&course=``, ``POST /api/admin/users``,
  ``PATCH /api/admin/users/{id}`` (role, course, disabled): 409 ``last_admin`` when an admin
  would disable or demote themselves, or leave no active admin; disabling revokes the
  user's API tokens (re-enabling does not bring them back);
- ``GET /api/admin/users/{id}/export``: everything stored about the user (JSON download);
- ``DELETE /api/admin/users/{id}``: delete the user and their data; the answer lists what
  was removed and its effect on the cohort's figures (``tutor/accounts/privacy.py``).
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from api.auth import CsrfAuthDep, CurrentUserDep, require_access
from api.deps import AccountServiceDep, TraineeDataDep
from api.params import RowId
from api.schemas.accounts import AdminUserPublic, UserCreate, UserDeletedPublic, UserUpdate
from api.schemas.common import ERROR_RESPONSES
from tutor.accounts.access import Access
from tutor.accounts.users import User

router = APIRouter(tags=["admin"], responses=ERROR_RESPONSES)
AdminDep = Annotated[User, Depends(require_access("read", "accounts"))]


# A download: a JSON object as a file (Content-Disposition: attachment).
_DOWNLOAD: dict = {
    200: {"content": {"application/json": {"schema": {"type": "object"}}}, "description": "JSON"}
}


def _download(data: dict, name: str) -> Response:
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/api/admin/users", summary="List accounts")
def list_users(
    _admin: AdminDep,
    accounts: AccountServiceDep,
    role: Annotated[Literal["trainee", "instructor", "admin"] | None, Query()] = None,
    course: Annotated[str | None, Query(max_length=128)] = None,
) -> list[AdminUserPublic]:
    return [AdminUserPublic.from_admin(u) for u in accounts.list_users(role=role, course=course)]


@router.post("/api/admin/users", summary="Create an account", status_code=201)
def create_user(
    body: UserCreate, auth: CsrfAuthDep, accounts: AccountServiceDep
) -> AdminUserPublic:
    Access(auth.user).require_role("change", "accounts")
    user = accounts.create_user(
        body.username,
        body.password,
        role=body.role,
        course=body.course,
        display_name=body.display_name,
    )
    return AdminUserPublic.from_admin(user)


@router.patch("/api/admin/users/{user_id}", summary="Change role, course or access")
def update_user(
    user_id: RowId, body: UserUpdate, auth: CsrfAuthDep, accounts: AccountServiceDep
) -> AdminUserPublic:
    Access(auth.user).require_role("change", "accounts")
    user = accounts.user_by_id(user_id)
    if body.role is not None or body.course is not None:
        role = body.role or user.role
        user = accounts.set_role(user.username, role, course=body.course, by=auth.user)
    if body.disabled is True:
        user = accounts.disable(user.username, by=auth.user)
    elif body.disabled is False:
        user = accounts.enable(user.username)
    return AdminUserPublic.from_admin(user)


@router.get(
    "/api/admin/users/{user_id}/export",
    response_class=Response,
    responses=_DOWNLOAD,
    summary="Everything stored about a user",
)
def export_user(user_id: RowId, _admin: AdminDep, data: TraineeDataDep) -> Response:
    return _download(data.export(user_id), f"kdt-user-{user_id}.json")


@router.delete(
    "/api/admin/users/{user_id}",
    response_model=UserDeletedPublic,
    summary="Delete a user and their data",
)
def delete_user(user_id: RowId, auth: CsrfAuthDep, data: TraineeDataDep) -> dict:
    Access(auth.user).require_role("change", "accounts")
    return data.delete(user_id, acting_user_id=auth.user.id)


@router.get(
    "/api/me/export",
    response_class=Response,
    responses=_DOWNLOAD,
    summary="Everything stored about you",
)
def export_me(user: CurrentUserDep, data: TraineeDataDep) -> Response:
    return _download(data.export(user.id), f"kdt-{user.username}.json")
