"""Users as the API shows them (``/api/auth/me``, ``/api/admin/users``) and the admins'
changes to accounts."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, StrictBool, StrictStr

from tutor.accounts.users import User


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


class UserCreate(BaseModel):
    username: StrictStr = Field(max_length=40)
    role: Literal["trainee", "instructor", "admin"]
    course: StrictStr | None = Field(default=None, max_length=128)
    display_name: StrictStr | None = Field(default=None, max_length=100)
    password: StrictStr = Field(min_length=1, max_length=256)


class UserUpdate(BaseModel):
    role: Literal["trainee", "instructor", "admin"] | None = None
    course: StrictStr | None = Field(default=None, max_length=128)
    disabled: StrictBool | None = None


class AdminUserPublic(UserPublic):
    disabled: bool

    @classmethod
    def from_admin(cls, user: User) -> AdminUserPublic:
        return cls(**UserPublic.from_user(user).model_dump(), disabled=user.disabled)


class DeletedUserPublic(BaseModel):
    id: int
    username: str
    role: str
    course: str | None


class AnonymisedPublic(BaseModel):
    content_gaps: int = Field(description="questions kept for instructors, without their asker")


class UserDeletedPublic(BaseModel):
    user: DeletedUserPublic
    deleted: dict[str, int] = Field(description="rows deleted, by kind of data")
    anonymised: AnonymisedPublic
    effect: str = Field(description="what this changes in the instructors' figures")
