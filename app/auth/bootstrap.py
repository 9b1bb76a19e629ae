"""Headless initialisation from LANGHOUSE_INIT_* (idempotent at every start) and first-start defaults."""

from __future__ import annotations

import secrets

from app.auth import accounts as domain
from app.auth.keys import display_secret, forget_cached_key, hash_secret, issue_api_key
from app.auth.passwords import hash_password
from app.errors import Conflict, InvalidInput
from app.settings import Settings
from app.storage import Storage
from app.storage.postgres import accounts
from app.storage.postgres.engine import STARTUP_LOCK
from app.storage.postgres.tables import Role

DEFAULT_ORG = "Default Organization"
DEFAULT_PROJECT = "Default Project"
DEFAULT_EMAIL = "admin@langhouse.local"


async def bootstrap(storage: Storage, settings: Settings) -> str | None:
    """Apply LANGHOUSE_INIT_*; or, on a first start without them, create defaults.

    Returns a message to print once (first-start credentials), else None.
    """
    async with storage.postgres.advisory_lock(STARTUP_LOCK):  # replicas starting together
        if settings.init_requested:
            await headless_init(storage, settings)
            return None
        if await accounts.count_organizations(storage.postgres) > 0:
            return None
        return await _create_defaults(storage, settings)


async def headless_init(storage: Storage, s: Settings) -> None:
    """Make the configured org, project, key and user exist, whatever ran before (idempotent)."""
    org = await domain.ensure_organization(storage, s.init_org_name) if s.init_org_name else None
    project = None
    if s.init_project_name:
        if org is None:
            raise InvalidInput("LANGHOUSE_INIT_PROJECT_NAME needs LANGHOUSE_INIT_ORG_NAME")
        project = await domain.ensure_project(storage, org, s.init_project_name)
    public, secret = s.init_project_public_key, s.init_project_secret_key
    if public or secret:
        if not (public and secret):
            raise InvalidInput(
                "set both LANGHOUSE_INIT_PROJECT_PUBLIC_KEY and LANGHOUSE_INIT_PROJECT_SECRET_KEY"
            )
        if project is None:
            raise InvalidInput("LANGHOUSE_INIT_PROJECT_*_KEY needs LANGHOUSE_INIT_PROJECT_NAME")
        secret_value = secret.get_secret_value()
        key = await accounts.find_api_key(storage.postgres, public)
        if key is None:
            await issue_api_key(storage, project.id, "headless init", public, secret_value)
        elif key.project_id != project.id:
            raise Conflict("LANGHOUSE_INIT_PROJECT_PUBLIC_KEY belongs to another project")
        elif key.secret_hash != hash_secret(secret_value) or key.revoked_at is not None:
            await accounts.replace_api_key_secret(
                storage.postgres, key.id, hash_secret(secret_value), display_secret(secret_value)
            )
            await forget_cached_key(storage, public)
    email, password = s.init_user_email, s.init_user_password
    if email or password:
        if not (email and password):
            raise InvalidInput("set both LANGHOUSE_INIT_USER_EMAIL and LANGHOUSE_INIT_USER_PASSWORD")
        user = await accounts.find_user(storage.postgres, email)
        if user is None:
            user = await accounts.create_user(
                storage.postgres, email, hash_password(password.get_secret_value())
            )
        if org is not None:
            await accounts.set_membership(storage.postgres, user.id, org.id, Role.OWNER)


async def _create_defaults(storage: Storage, settings: Settings) -> str:
    org = await domain.ensure_organization(storage, DEFAULT_ORG)
    project = await domain.ensure_project(storage, org, DEFAULT_PROJECT)
    issued = await issue_api_key(storage, project.id, "created at first start")
    password: str | None = secrets.token_urlsafe(12)
    user = await accounts.find_user(storage.postgres, DEFAULT_EMAIL)
    if user is None:
        user = await accounts.create_user(storage.postgres, DEFAULT_EMAIL, hash_password(str(password)))
    else:
        password = None  # an earlier start made this user: its password is theirs, not ours to print
    await accounts.set_membership(storage.postgres, user.id, org.id, Role.OWNER)
    url = settings.local_url
    lines = [
        "Langhouse is set up. These credentials are shown ONCE; keep them somewhere safe.",
        "",
        f"  Web UI        {url}/login",
        f"  Email         {DEFAULT_EMAIL}",
        f"  Password      {password or '(unchanged: this user already existed)'}",
        "",
        f"  Project       {project.name} ({project.id})",
        f"  Public key    {issued.key.public_key}",
        f"  Secret key    {issued.secret_key}",
        "",
        "  For the Langfuse SDKs:",
        f"    export LANGFUSE_BASE_URL={url}",
        f"    export LANGFUSE_PUBLIC_KEY={issued.key.public_key}",
        f"    export LANGFUSE_SECRET_KEY={issued.secret_key}",
    ]
    width = max(len(line) for line in lines) + 4
    border = "=" * width
    return "\n".join([border, *(f"  {line}" for line in lines), border])
