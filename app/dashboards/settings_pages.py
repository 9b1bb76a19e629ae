"""Project settings pages: API keys, members, model prices and LLM connections (admins change them)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from app.auth import accounts as domain
from app.auth import keys
from app.auth.caller import Caller
from app.dashboards.deps import UiSession, page, requires_admin
from app.dashboards.forms import Fields, FormInvalid, read_form, refused
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


KEY_FIELDS = Fields({"note": "Note"})


@dataclass
class RevokeForm:
    public_key: str = ""


@dataclass
class MemberForm:
    email: str = ""
    role: str = "member"
    scope: str = "project"  # "project": a role in this project only; "organization": in all its projects


MEMBER_FIELDS = Fields(
    {"email": "Email", "role": "Role", "scope": "Scope"},
    about={"no user": "email", "you cannot grant": "role"},
)


@dataclass
class ModelForm:
    model_name: str = ""
    match_pattern: str = ""
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
        if not prices:
            raise FormInvalid({"input_price": "Give an input price, an output price or both"})
        return model_catalog.ModelSpec(self.model_name, self.match_pattern, prices)


MODEL_FIELDS = Fields(
    {
        "model_name": "Model name",
        "match_pattern": "Match pattern",
        "input_price": "Input price",
        "output_price": "Output price",
    },
    names={
        "model name": "model_name",
        "match pattern": "match_pattern",
        "price of input": "input_price",
        "price of output": "output_price",
    },
)


# --- API keys ---------------------------------------------------------------------------------------


async def _api_keys(
    session: UiSession,
    storage: Storage,
    issued: keys.IssuedKey | None = None,
    values: KeyForm | None = None,
    errors: dict[str, str] | None = None,
) -> Template:
    rows = await accounts.list_api_keys(storage.postgres, session.caller.project_id)
    response = page(
        session, "api_keys.html", keys=rows, issued=issued, values=values or KeyForm(), errors=errors or {}
    )
    response.headers["Cache-Control"] = (
        "no-store"  # a new secret is shown once: never from a cache or history
    )
    return response


@get("/settings/api-keys", guards=[requires_admin])
async def api_keys_page(session: UiSession, storage: Storage) -> Template:
    return await _api_keys(session, storage)


@post("/settings/api-keys", guards=[requires_admin])
async def api_key_create(request: Request[Any, Any, State], session: UiSession, storage: Storage) -> Template:
    form = await read_form(request, KeyForm)
    try:
        issued = await keys.issue_api_key(storage, session.caller.project_id, form.note.strip() or None)
    except UserError as exc:
        return refused(await _api_keys(session, storage, None, form, KEY_FIELDS.errors(exc)), exc)
    return await _api_keys(session, storage, issued)


@post("/settings/api-keys/revoke", guards=[requires_admin])
async def api_key_revoke(request: Request[Any, Any, State], session: UiSession, storage: Storage) -> Redirect:
    form = await read_form(request, RevokeForm)
    await keys.revoke_api_key(storage, session.caller.project_id, form.public_key)
    return Redirect("/settings/api-keys")


# --- members ----------------------------------------------------------------------------------------


async def _members(
    session: UiSession, storage: Storage, values: MemberForm | None = None, exc: UserError | None = None
) -> Template:
    """The members page; after a refused change, with its reason beside the field, and its status."""
    caller = session.caller
    members = await accounts.list_members(storage.postgres, caller.organization_id, caller.project_id)
    roles = [r.value for r in Role if caller.role.at_least(r)]
    errors = MEMBER_FIELDS.errors(exc) if exc else {}
    response = page(
        session, "members.html", members=members, roles=roles, values=values or MemberForm(), errors=errors
    )
    return refused(response, exc) if exc else response


@get("/settings/members", guards=[requires_admin])
async def members_page(session: UiSession, storage: Storage) -> Template:
    return await _members(session, storage)


@post("/settings/members", guards=[requires_admin])
async def member_set(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template | Redirect:
    """Give an existing user a role here (new users come through invitations); a refused change
    shows the page again with the reason."""
    form = await read_form(request, MemberForm)
    try:
        await domain.set_member_role(storage, session.caller, form.email, form.role, form.scope)
    except UserError as exc:
        return await _members(session, storage, form, exc)
    return Redirect("/settings/members")


@post("/settings/members/{user_id:str}/remove-project-role", guards=[requires_admin])
async def member_reset(session: UiSession, storage: Storage, user_id: str) -> Template | Redirect:
    try:
        await domain.reset_project_role(storage, session.caller, user_id)
    except UserError as exc:
        return await _members(session, storage, None, exc)
    return Redirect("/settings/members")


# --- model prices -----------------------------------------------------------------------------------


async def _models(
    session: UiSession,
    storage: Storage,
    values: ModelForm | None = None,
    errors: dict[str, str] | None = None,
) -> Template:
    caller = session.caller
    return page(
        session,
        "models.html",
        own=await model_catalog.list_models(storage, caller.project_id),
        builtins=model_catalog.builtins(),
        can_write=caller.role.at_least(Role.ADMIN),
        price=price_text,
        values=values or ModelForm(),
        errors=errors or {},
    )


@get("/settings/models")
async def models_page(session: UiSession, storage: Storage) -> Template:
    return await _models(session, storage)


@post("/settings/models", guards=[requires_admin])
async def model_create(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template | Redirect:
    form = await read_form(request, ModelForm)
    try:
        await model_catalog.create(storage, session.caller.project_id, form.spec())
    except UserError as exc:
        return refused(await _models(session, storage, form, MODEL_FIELDS.errors(exc)), exc)
    return Redirect("/settings/models")


@post("/settings/models/{model_id:str}/delete", guards=[requires_admin])
async def model_delete(caller: Caller, storage: Storage, model_id: str) -> Redirect:
    await model_catalog.delete(storage, caller.project_id, model_id)
    return Redirect("/settings/models")


# --- LLM connections ------------------------------------------------------------------------------


@dataclass
class ConnectionForm:
    name: str = ""
    provider: str = "openai"
    models: str = ""
    base_url: str = ""
    api_key: str = ""
    extra_headers: str = ""  # `Name: value` lines; blank keeps the stored ones
    remove_headers: str = ""  # a ticked box: remove the stored ones

    def as_input(self) -> LlmConnectionSpec:
        headers = connections.split_headers(self.extra_headers) if self.extra_headers.strip() else None
        return LlmConnectionSpec(
            self.name,
            self.provider,
            self.base_url or None,
            connections.split_models(self.models),
            self.api_key or None,
            {} if self.remove_headers and headers is None else headers,
        )


CONNECTION_FIELDS = Fields(
    {
        "name": "Name",
        "provider": "Provider",
        "base_url": "Base URL",
        "models": "Models",
        "api_key": "API key",
        "extra_headers": "Extra headers",
    },
    names={"baseUrl": "base_url", "apiKey": "api_key", "extraHeaders": "extra_headers"},
)


async def _connections(
    session: UiSession,
    storage: Storage,
    values: ConnectionForm | None = None,
    errors: dict[str, str] | None = None,
    editing: str | None = None,
) -> Template:
    """The connections page; after a refused form, that form (the new one, or the edit of `editing`)
    with what was typed and its errors."""
    caller = session.caller
    views = await connections.list_connections(storage, caller.project_id)
    return page(
        session,
        "llm_connections.html",
        connections=views,
        providers=connections.PROVIDERS,
        defaults=connections.DEFAULT_BASE_URLS,
        can_write=caller.role.at_least(Role.ADMIN),
        values=values or ConnectionForm(),
        errors=errors or {},
        editing=editing,
    )


@get("/settings/llm-connections")
async def connections_page(session: UiSession, storage: Storage) -> Template:
    return await _connections(session, storage)


@post("/settings/llm-connections", guards=[requires_admin])
async def connection_create(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template | Redirect:
    form = await read_form(request, ConnectionForm)
    try:
        await connections.create_connection(storage, session.caller.project_id, form.as_input())
    except UserError as exc:
        return refused(await _connections(session, storage, form, CONNECTION_FIELDS.errors(exc)), exc)
    return Redirect("/settings/llm-connections")


@post("/settings/llm-connections/{connection_id:str}", guards=[requires_admin])
async def connection_update(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, connection_id: str
) -> Template | Redirect:
    """Change a connection; a blank API key keeps the stored one."""
    form = await read_form(request, ConnectionForm)
    try:
        await connections.update_connection(
            storage, session.caller.project_id, connection_id, form.as_input()
        )
    except UserError as exc:
        errors = CONNECTION_FIELDS.errors(exc)
        return refused(await _connections(session, storage, form, errors, connection_id), exc)
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
