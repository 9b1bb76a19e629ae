"""Headless initialisation and migrations: both idempotent."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.auth.bootstrap import bootstrap
from app.auth.keys import authenticate_basic
from app.errors import InvalidInput, Unauthorized
from app.settings import Settings
from app.storage import Storage
from app.storage.clickhouse.migrate import load_migrations
from app.storage.clickhouse.query import dangerous_raw_sql
from app.storage.postgres import accounts
from app.storage.postgres.tables import ApiKey, Membership, Organization, Project
from tests.conftest import POSTGRES_HEAD

pytestmark = pytest.mark.integration


def init_settings(settings: Settings, **overrides: object) -> Settings:
    suffix = secrets.token_hex(4)
    values = {
        "init_org_name": f"init-org-{suffix}",
        "init_project_name": "init-project",
        "init_project_public_key": f"pk-lf-{suffix}",
        "init_project_secret_key": f"sk-lf-{suffix}",
        "init_user_email": f"init-{suffix}@example.com",
        "init_user_password": "init-password-123",
        **overrides,
    }
    return Settings.model_validate({**settings.model_dump(), **values})


async def count(storage: Storage, model: type, *where: object) -> int:
    async with storage.postgres.session() as s:
        return int((await s.exec(select(func.count()).select_from(model).where(*where))).one())


def basic(public: str, secret: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{public}:{secret}".encode()).decode()


async def test_headless_init_twice_makes_one_of_each(storage: Storage, settings: Settings) -> None:
    s = init_settings(settings)
    for _ in range(2):
        assert await bootstrap(storage, s) is None
    org = await accounts.find_organization(storage.postgres, s.init_org_name)
    assert org is not None
    assert await count(storage, Organization, Organization.name == s.init_org_name) == 1
    assert await count(storage, Project, Project.organization_id == org.id) == 1
    assert await count(storage, ApiKey, ApiKey.public_key == s.init_project_public_key) == 1
    user = await accounts.find_user(storage.postgres, s.init_user_email)
    assert user is not None
    assert await count(storage, Membership, Membership.user_id == user.id) == 1
    caller = await authenticate_basic(
        storage, basic(s.init_project_public_key, s.init_project_secret_key.get_secret_value()), "127.0.0.1"
    )
    [access] = await accounts.list_project_access(storage.postgres, user.id)
    assert caller.project_id == access.project.id and access.role.value == "owner"

    # A changed secret replaces the stored hash and the cached entry at the next start.
    rotated = Settings.model_validate({**s.model_dump(), "init_project_secret_key": "sk-lf-rotated-secret"})
    await bootstrap(storage, rotated)
    with pytest.raises(Unauthorized):
        await authenticate_basic(
            storage,
            basic(s.init_project_public_key, s.init_project_secret_key.get_secret_value()),
            "127.0.0.1",
        )
    assert (
        await authenticate_basic(
            storage, basic(s.init_project_public_key, "sk-lf-rotated-secret"), "127.0.0.1"
        )
    ).project_id


@pytest.mark.parametrize(
    ("update", "needle"),
    [
        ({"init_org_name": None}, "needs LANGHOUSE_INIT_ORG_NAME"),
        ({"init_project_secret_key": None}, "set both LANGHOUSE_INIT_PROJECT_PUBLIC_KEY"),
        ({"init_user_password": None}, "set both LANGHOUSE_INIT_USER_EMAIL"),
    ],
)
async def test_incomplete_init_is_a_clear_error(storage: Storage, settings: Settings, update, needle) -> None:
    s = init_settings(settings, **update)
    with pytest.raises(InvalidInput, match=needle):
        await bootstrap(storage, s)


async def test_migrations_twice_change_nothing(storage: Storage) -> None:
    ledger = dangerous_raw_sql(
        "SELECT version, name, checksum FROM langhouse_migrations ORDER BY version", "t.m"
    )
    before = await storage.clickhouse.query(ledger)
    revision = await storage.postgres.current_revision()
    await storage.migrate()
    await storage.migrate()
    assert await storage.clickhouse.query(ledger) == before
    assert [r["version"] for r in before] == [m.version for m in load_migrations(None)]
    assert await storage.postgres.current_revision() == revision == POSTGRES_HEAD
    tables = await storage.clickhouse.query(
        dangerous_raw_sql(
            "SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name", "t.t"
        )
    )
    assert {
        "observations",
        "traces",
        "scores",
        "observations_hourly",
        "observations_by_dimension_hourly",
    } <= {r["name"] for r in tables}
