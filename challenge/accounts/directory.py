"""The admin's view of accounts: search, page through, change roles, deactivate."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from challenge.accounts import service as accounts
from challenge.accounts.models import Role, User
from challenge.db.search import contains
from challenge.errors import BadRequest


def search(
    session: Session, *, admin: User, query: str = "", offset: int = 0, limit: int = 50
) -> tuple[list[User], int]:
    """Users whose username or email contains `query` (any case), by username; and the total."""
    accounts.require_role(admin, Role.ADMIN)
    condition = None
    needle = query.strip()
    if needle:
        condition = or_(contains(User.username, needle), contains(User.email, needle))
    counted = select(func.count()).select_from(User)
    listed = select(User).order_by(User.username).offset(offset).limit(limit)
    if condition is not None:
        counted = counted.where(condition)
        listed = listed.where(condition)
    return list(session.scalars(listed)), int(session.scalar(counted) or 0)


def update(
    session: Session,
    *,
    admin: User,
    user_id: int,
    role: Role | None = None,
    is_active: bool | None = None,
) -> User:
    """Change a user's role or deactivate (reactivate) them; admins cannot demote themselves."""
    accounts.require_role(admin, Role.ADMIN)
    user = accounts.get_or_raise(session, user_id=user_id)
    if user.id == admin.id and (
        (role is not None and role is not Role.ADMIN) or is_active is False
    ):
        raise BadRequest("you cannot demote or deactivate yourself; another admin has to do it")
    if role is not None:
        user.role = role
    if is_active is not None:
        user.is_active = is_active
    session.flush()
    return user
