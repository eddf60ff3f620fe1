"""Users as the API shows them (``/api/auth/me``, ``/api/admin/users``)."""

from __future__ import annotations

from pydantic import BaseModel

from tutor.accounts import User


class UserPublic(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    course: str | None

    @classmethod
    def from_user(cls, user: User) -> UserPublic:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            course=user.course,
        )
