"""Invitations: admins invite an email to a role and revoke pending invitations; invitees accept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from app import __version__
from app.auth import invitations, sessions
from app.auth.caller import Caller
from app.dashboards.auth_pages import client_ip, form_error, start_session
from app.dashboards.deps import UiSession, page, requires_admin
from app.dashboards.forms import Fields, read_form, refused
from app.errors import UserError
from app.storage import Storage
from app.storage.postgres import accounts
from app.storage.postgres.tables import Invitation, Role

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}  # a link that grants access


@dataclass
class InviteForm:
    email: str = ""
    role: str = "member"
    scope: str = "project"


INVITE_FIELDS = Fields(
    {"email": "Email", "role": "Role", "scope": "Scope"}, about={"you cannot grant": "role"}
)


@dataclass
class AcceptForm:
    password: str = ""
    name: str = ""


async def _invitations_page(
    session: UiSession,
    storage: Storage,
    link: str | None = None,
    values: InviteForm | None = None,
    errors: dict[str, str] | None = None,
) -> Template:
    caller = session.caller
    pending = await invitations.pending(storage, caller)
    roles = [r.value for r in Role if caller.role.at_least(r)]
    response = page(
        session,
        "invitations.html",
        pending=pending,
        roles=roles,
        link=link,
        values=values or InviteForm(),
        errors=errors or {},
    )
    response.headers.update(NO_STORE)
    return response


@get("/settings/invitations", guards=[requires_admin])
async def invitations_page(session: UiSession, storage: Storage) -> Template:
    return await _invitations_page(session, storage)


@post("/settings/invitations", guards=[requires_admin])
async def invitation_create(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template:
    form = await read_form(request, InviteForm)
    try:
        issued = await invitations.invite(storage, session.caller, form.email, form.role, form.scope)
    except UserError as exc:
        return refused(await _invitations_page(session, storage, None, form, INVITE_FIELDS.errors(exc)), exc)
    link = f"{str(request.base_url).rstrip('/')}/invite/{issued.token}"
    return await _invitations_page(session, storage, link)


@post("/settings/invitations/{invitation_id:str}/revoke", guards=[requires_admin])
async def invitation_revoke(caller: Caller, storage: Storage, invitation_id: str) -> Redirect:
    await invitations.revoke(storage, caller, invitation_id)
    return Redirect("/settings/invitations")


async def _invite_context(storage: Storage, invitation: Invitation) -> dict[str, Any]:
    found = invitation.project_id and await accounts.fetch_project(storage.postgres, invitation.project_id)
    org = (
        found[1] if found else await accounts.fetch_organization(storage.postgres, invitation.organization_id)
    )
    return {
        "invitation": invitation,
        "place": f"{org.name if org else ''}{' / ' + found[0].name if found else ''}",
        "has_account": await accounts.find_user(storage.postgres, invitation.email) is not None,
        "version": __version__,
        "error": None,
    }


@get("/invite/{token:str}")
async def invite_page(storage: Storage, token: str) -> Template:
    try:
        invitation = await invitations.open_invitation(storage, token)
    except UserError as exc:
        return form_error("invite.html", exc, invitation=None)
    return Template("invite.html", context=await _invite_context(storage, invitation), headers=NO_STORE)


@post("/invite/{token:str}")
async def invite_accept(
    request: Request[Any, Any, State], storage: Storage, token: str
) -> Template | Redirect:
    data = await read_form(request, AcceptForm)
    try:
        user, invitation = await invitations.accept(
            storage, token, data.password, client_ip(request), data.name
        )
    except UserError as exc:
        try:
            context = await _invite_context(storage, await invitations.open_invitation(storage, token))
        except UserError:
            context = {"invitation": None}
        return form_error("invite.html", exc, **{**context, "name": data.name})
    project_id = invitation.project_id or next(
        (
            p.project.id
            for p in await accounts.list_project_access(storage.postgres, user.id)
            if p.organization.id == invitation.organization_id
        ),
        None,
    )
    response = Redirect("/")
    start_session(request, response, storage, await sessions.open_session(storage, user, project_id))
    return response


INVITATION_ROUTES = [invitations_page, invitation_create, invitation_revoke, invite_page, invite_accept]
