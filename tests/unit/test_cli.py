"""The CLI's parser: what it offers without importing the stores."""

from __future__ import annotations

from app.cli import ROLES, build_parser
from app.storage.postgres.tables import Role


def test_role_choices_are_the_roles() -> None:
    assert tuple(r.value for r in Role) == ROLES
    args = build_parser().parse_args(["users", "create", "--email", "a@example.com"])
    assert args.role == Role.MEMBER.value and args.password is None
