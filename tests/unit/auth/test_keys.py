"""Parsing Basic credentials, hashing secrets and passwords, and roles."""

from __future__ import annotations

import base64

import pytest

from app.auth.caller import Caller
from app.auth.keys import display_secret, hash_secret, is_bearer, parse_basic, parse_bearer
from app.auth.passwords import hash_password, verify_password
from app.errors import Forbidden, InvalidInput, Unauthorized
from app.storage.postgres.tables import Role


def b64(raw: str) -> str:
    return base64.b64encode(raw.encode()).decode()


def test_parse_basic_splits_on_the_first_colon() -> None:
    assert parse_basic(f"Basic {b64('pk-lh-1:sk:with:colons')}") == ("pk-lh-1", "sk:with:colons")
    assert parse_basic(f"basic  {b64('a:b')}") == ("a", "b")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic",
        "Bearer x",
        "Basic %%%",
        f"Basic {b64('nocolon')}",
        f"Basic {b64(':s')}",
        f"Basic {b64('p:')}",
        f"Basic {b64('p:' + 's' * 300)}",
        "Basic " + base64.b64encode(b"\xff:\xfe").decode(),
    ],
)
def test_parse_basic_refuses_malformed_headers(header: str | None) -> None:
    with pytest.raises(Unauthorized):
        parse_basic(header)


def test_parse_bearer_reads_the_public_key() -> None:
    assert parse_bearer("Bearer pk-lh-1") == "pk-lh-1"
    assert parse_bearer("  bearer   pk-lh-1 ") == "pk-lh-1"
    assert is_bearer("Bearer pk-lh-1") and is_bearer("BEARER") and is_bearer("bearer ")
    assert not is_bearer(None) and not is_bearer(f"Basic {b64('a:b')}") and not is_bearer("Bearerx y")


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Bearer  ", "Basic pk", "Bearer a b", "Bearer " + "p" * 300]
)
def test_parse_bearer_refuses_malformed_headers(header: str | None) -> None:
    with pytest.raises(Unauthorized, match="Bearer"):
        parse_bearer(header)


def test_secrets_are_hashed_and_displayed_masked() -> None:
    secret = "sk-lh-0123456789abcdef"
    assert hash_secret(secret) != secret and len(hash_secret(secret)) == 64
    assert hash_secret(secret) == hash_secret(secret)
    assert display_secret(secret) == "sk-lh-...cdef"


def test_passwords_use_argon2_and_verify() -> None:
    h = hash_password("correct horse")
    assert h.startswith("$argon2id$")
    assert verify_password(h, "correct horse")
    assert not verify_password(h, "wrong horse")
    assert not verify_password(None, "anything")
    assert not verify_password("not-a-hash", "x")
    with pytest.raises(InvalidInput, match="at least 8"):
        hash_password("short")


def test_roles_are_ordered_and_enforced() -> None:
    assert Role.OWNER.at_least(Role.ADMIN) and Role.ADMIN.at_least(Role.ADMIN)
    assert not Role.MEMBER.at_least(Role.ADMIN) and not Role.VIEWER.at_least(Role.MEMBER)
    Caller("p", "o", Role.ADMIN).require(Role.ADMIN)
    with pytest.raises(Forbidden, match="needs the member role"):
        Caller("p", "o", Role.VIEWER).require(Role.MEMBER)
