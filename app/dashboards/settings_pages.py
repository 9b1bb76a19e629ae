"""Project settings pages: API keys, members, model prices and LLM connections (admins change them)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated

from litestar import get, post
from litestar.response import Redirect, Template

from app.auth import accounts as domain
from app.auth import keys
from app.auth.caller import Caller
from app.dashboards.deps import FORM, UiSession, page, requires_admin
from app.dashboards.units import TOKENS_PER_PRICE, price_text
from app.errors import InvalidInput, UserError
from app.evaluation import judge_connections
from app.playground import connections
from app.playground.connections import LlmConnectionSpec
from app.storage import Storage
from app.storage.postgres import accounts
from app.storage.postgres.tables import Role
from app.tracing import model_catalog


@dataclass
class KeyForm:
    note: str = ""


@dataclass
class RevokeForm:
    public_key: str


@dataclass
class MemberForm:
    email: str
    role: str
    scope: str = "project"  # "project": a role in this project only; "organization": in all its projects


@dataclass
class ModelForm:
    model_name: str
    match_pattern: str
    input_price: str = ""
    output_price: str = ""

    def spec(self) -> model_catalog.ModelSpec:
        """The model to create: prices are given in $ per 1M tokens (`2.50` or `$2.50`) and stored per
        token, as the API takes them; InvalidInput names a price that is not a number."""
        prices: dict[str, Decimal] = {}
        for usage_type, field, text in (
            ("input", "input_price", self.input_price),
            ("output", "output_price", self.output_price),
        ):
            if text.strip():
                try:
                    per_million = Decimal(text.strip().removeprefix("$").strip().replace(",", ""))
                except InvalidOperation:
                    raise InvalidInput(f"{field} must be a non-negative number ($ per 1M tokens)") from None
                prices[usage_type] = per_million / TOKENS_PER_PRICE
        return model_catalog.ModelSpec(self.model_name, self.match_pattern, prices)


# --- API keys ---------------------------------------------------------------------------------------


@get("/settings/api-keys", guards=[requires_admin])
async def api_keys_page(session: UiSession, storage: Storage) -> Template:
    rows = await accounts.list_api_keys(storage.postgres, session.caller.project_id)
    return page(session, "api_keys.html", keys=rows, issued=None)


@post("/settings/api-keys", guards=[requires_admin])
async def api_key_create(session: UiSession, storage: Storage, data: Annotated[KeyForm, FORM]) -> Template:
    project_id = session.caller.project_id
    issued = await keys.issue_api_key(storage, project_id, data.note.strip() or None)
    rows = await accounts.list_api_keys(storage.postgres, project_id)
    response = page(session, "api_keys.html", keys=rows, issued=issued)
    response.headers["Cache-Control"] = "no-store"  # the secret is shown once: never from a cache or history
    return response


@post("/settings/api-keys/revoke", guards=[requires_admin])
async def api_key_revoke(session: UiSession, storage: Storage, data: Annotated[RevokeForm, FORM]) -> Redirect:
    await keys.revoke_api_key(storage, session.caller.project_id, data.public_key)
    return Redirect("/settings/api-keys")


# --- members ----------------------------------------------------------------------------------------


async def _members(session: UiSession, storage: Storage, error: UserError | None = None) -> Template:
    """The members page; after a refused change, with its reason and status."""
    caller = session.caller
    members = await accounts.list_members(storage.postgres, caller.organization_id, caller.project_id)
    roles = [r.value for r in Role if caller.role.at_least(r)]
    response = page(
        session, "members.html", members=members, roles=roles, error=str(error) if error else None
    )
    response.status_code = error.status if error else 200
    return response


@get("/settings/members", guards=[requires_admin])
async def members_page(session: UiSession, storage: Storage) -> Template:
    return await _members(session, storage)


@post("/settings/members", guards=[requires_admin])
async def member_set(
    session: UiSession, storage: Storage, data: Annotated[MemberForm, FORM]
) -> Template | Redirect:
    """Give an existing user a role here (new users come through invitations); a refused change
    shows the page again with the reason."""
    try:
        await domain.set_member_role(storage, session.caller, data.email, data.role, data.scope)
    except UserError as exc:
        return await _members(session, storage, exc)
    return Redirect("/settings/members")


@post("/settings/members/{user_id:str}/remove-project-role", guards=[requires_admin])
async def member_reset(session: UiSession, storage: Storage, user_id: str) -> Template | Redirect:
    try:
        await domain.reset_project_role(storage, session.caller, user_id)
    except UserError as exc:
        return await _members(session, storage, exc)
    return Redirect("/settings/members")


# --- model prices -----------------------------------------------------------------------------------


@get("/settings/models")
async def models_page(session: UiSession, storage: Storage) -> Template:
    caller = session.caller
    return page(
        session,
        "models.html",
        own=await model_catalog.list_models(storage, caller.project_id),
        builtins=model_catalog.builtins(),
        can_write=caller.role.at_least(Role.ADMIN),
        price=price_text,
    )


@post("/settings/models", guards=[requires_admin])
async def model_create(caller: Caller, storage: Storage, data: Annotated[ModelForm, FORM]) -> Redirect:
    await model_catalog.create(storage, caller.project_id, data.spec())
    return Redirect("/settings/models")


@post("/settings/models/{model_id:str}/delete", guards=[requires_admin])
async def model_delete(caller: Caller, storage: Storage, model_id: str) -> Redirect:
    await model_catalog.delete(storage, caller.project_id, model_id)
    return Redirect("/settings/models")


# --- LLM connections ------------------------------------------------------------------------------


@dataclass
class ConnectionForm:
    name: str
    provider: str
    models: str
    base_url: str = ""
    api_key: str = ""

    def as_input(self) -> LlmConnectionSpec:
        return LlmConnectionSpec(
            self.name,
            self.provider,
            self.base_url or None,
            connections.split_models(self.models),
            self.api_key or None,
        )


@get("/settings/llm-connections")
async def connections_page(session: UiSession, storage: Storage) -> Template:
    caller = session.caller
    views = await connections.list_connections(storage, caller.project_id)
    return page(
        session,
        "llm_connections.html",
        connections=views,
        providers=connections.PROVIDERS,
        defaults=connections.DEFAULT_BASE_URLS,
        can_write=caller.role.at_least(Role.ADMIN),
    )


@post("/settings/llm-connections", guards=[requires_admin])
async def connection_create(
    caller: Caller, storage: Storage, data: Annotated[ConnectionForm, FORM]
) -> Redirect:
    await connections.create_connection(storage, caller.project_id, data.as_input())
    return Redirect("/settings/llm-connections")


@post("/settings/llm-connections/{connection_id:str}", guards=[requires_admin])
async def connection_update(
    caller: Caller, storage: Storage, connection_id: str, data: Annotated[ConnectionForm, FORM]
) -> Redirect:
    """Change a connection; a blank API key keeps the stored one."""
    await connections.update_connection(storage, caller.project_id, connection_id, data.as_input())
    return Redirect("/settings/llm-connections")


@post("/settings/llm-connections/{connection_id:str}/delete", guards=[requires_admin])
async def connection_delete(caller: Caller, storage: Storage, connection_id: str) -> Redirect:
    await judge_connections.delete_connection(storage, caller.project_id, connection_id)
    return Redirect("/settings/llm-connections")


SETTINGS_ROUTES = [
    api_keys_page,
    api_key_create,
    api_key_revoke,
    members_page,
    member_set,
    member_reset,
    models_page,
    model_create,
    model_delete,
    connections_page,
    connection_create,
    connection_update,
    connection_delete,
]
