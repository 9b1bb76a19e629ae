"""IsMember and IsAdmin refuse with the same errors as the rest of Langhouse."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from app.auth.caller import Caller
from app.errors import Forbidden, Unauthorized
from app.graphql.context import Context
from app.graphql.permissions import IsAdmin, IsMember
from app.storage.postgres.tables import Role


def _info(role: Role | None) -> Any:
    caller = None if role is None else Caller("p1", "o1", role)
    return SimpleNamespace(context=Context(storage=None, caller=caller, loaders=None))  # type: ignore[arg-type]


def test_member_passes_and_a_viewer_is_told_the_role_it_needs() -> None:
    assert IsMember().has_permission(None, _info(Role.MEMBER)) is True
    with pytest.raises(Forbidden, match="needs the member role in the project; you have viewer"):
        IsMember().has_permission(None, _info(Role.VIEWER))


def test_admin_needs_admin_or_owner() -> None:
    assert IsAdmin().has_permission(None, _info(Role.OWNER)) is True
    with pytest.raises(Forbidden, match="needs the admin role in the project; you have member"):
        IsAdmin().has_permission(None, _info(Role.MEMBER))


def test_no_caller_is_unauthorized() -> None:
    with pytest.raises(Unauthorized, match="Not authenticated"):
        IsMember().has_permission(None, _info(None))
