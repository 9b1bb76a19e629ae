"""/api/public/v2/prompts: the Langfuse prompt API (create, read, list, label, delete).

Prompt names may contain '/' (folders); the SDKs send it percent-encoded (`folder%2Fp1`), which the
ASGI server decodes before routing, so the name is read from the raw path (one route takes the rest).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import unquote

from litestar import Request, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import Parameter

from app.api.paging import MAX_LIMIT, MAX_PAGE, page_meta
from app.api.shared import raw_path
from app.errors import InvalidInput, NotFound
from app.http_json import ApiDoc, json_body
from app.prompts import service
from app.prompts.compose import MAX_VERSION
from app.prompts.content import new_content
from app.storage.clickhouse.queries.common import check_time
from app.storage.postgres.tables import Prompt

PREFIX = "/api/public/v2/prompts/"


def _name_and_rest(request: Request[Any, Any, State]) -> tuple[str, list[str]]:
    """The path after the prefix as raw (still encoded) segments, so an encoded '/' stays in the name."""
    path = raw_path(request)
    if not path.startswith(PREFIX):
        raise NotFound("no such route")
    segments = path[len(PREFIX) :].split("/")
    return unquote("/".join(segments)), segments


def _prompt_name(request: Request[Any, Any, State]) -> str:
    return service.validate_name(_name_and_rest(request)[0])


def _version_route(request: Request[Any, Any, State]) -> tuple[str, int]:
    """`{name}/versions/{version}` → (name, version)."""
    _, segments = _name_and_rest(request)
    if len(segments) < 3 or segments[-2] != "versions":
        raise NotFound("use PATCH /api/public/v2/prompts/{name}/versions/{version}")
    if not segments[-1].isdigit() or not 1 <= int(segments[-1]) <= MAX_VERSION:
        raise InvalidInput(f"version must be an integer from 1 to {MAX_VERSION}")
    return service.validate_name(unquote("/".join(segments[:-2]))), int(segments[-1])


def _caller(request: Request[Any, Any, State]) -> Any:
    return request.state.caller


LABELS = {"type": "array", "items": {"type": "string", "pattern": "^[a-z0-9_\\-.]+$", "maxLength": 36}}
CHAT_MESSAGE = {
    "type": "object",
    "description": '`{role, content}`, or `{type: "placeholder", name}`',
    "properties": {
        "role": {"type": "string"},
        "content": {"type": "string"},
        "type": {"type": "string"},
        "name": {"type": "string"},
    },
}
CREATE_PROMPT = ApiDoc(
    body={
        "type": "object",
        "required": ["name", "prompt"],
        "properties": {
            "name": {
                "type": "string",
                "minLength": 1,
                "maxLength": 255,
                "description": "no '|'; '/' for folders",
            },
            "type": {"type": "string", "enum": ["text", "chat"]},
            "prompt": {"oneOf": [{"type": "string"}, {"type": "array", "items": CHAT_MESSAGE}]},
            "config": {"type": ["object", "null"]},
            "labels": LABELS,
            "tags": {"type": "array", "items": {"type": "string"}},
            "commitMessage": {"type": ["string", "null"]},
        },
    },
    errors={403: "The label is protected and the key may not set it."},
)
SET_LABELS = ApiDoc(
    body={
        "type": "object",
        "required": ["newLabels"],
        "properties": {"newLabels": {**LABELS, "description": "labels to add (`latest` is not allowed)"}},
    },
    errors={403: "A protected label would move and the key may not move it."},
)
DELETE_PROMPT = ApiDoc(errors={403: "The prompt carries a protected label."})


def _labels(value: object, field: str, *, allow_latest: bool) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{field} must be a list of at most {service.MAX_ITEMS} labels")
    for label in value:
        if not isinstance(label, str):
            limit = service.LABEL_MAX
            raise InvalidInput(
                f"{field}: label {label!r} must be 1 to {limit} characters of a-z, 0-9, '_', '-' or '.'"
            )
    return service.validate_labels(value, field, allow_latest=allow_latest)


def _tags(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidInput(f"tags must be a list of at most {service.MAX_ITEMS} strings")
    if not all(isinstance(t, str) for t in value):
        raise InvalidInput(f"tags must be non-empty strings of at most {service.TAG_MAX} characters")
    return tuple(service.validate_tags(value) or ())


def parse_new_version(body: object) -> service.NewPromptVersion:
    """A create body (the Langfuse shape) as a NewPromptVersion, or InvalidInput naming the field."""
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    content = new_content(body.get("type") or "text", body.get("prompt"))
    config = body.get("config")
    if config is not None and not isinstance(config, dict):
        raise InvalidInput("config must be a JSON object")
    commit = body.get("commitMessage")
    if commit is not None and not isinstance(commit, str):
        raise InvalidInput("commitMessage must be a string")
    name = body.get("name")
    if not isinstance(name, str):
        raise InvalidInput("name is required")
    return service.NewPromptVersion(
        name=service.validate_new_name(name),
        content=content,
        config=config or {},
        labels=tuple(_labels(body.get("labels"), "labels", allow_latest=True)),
        tags=_tags(body.get("tags")),
        commit_message=commit,
    )


def to_api(p: Prompt | service.ServedPrompt) -> dict[str, Any]:
    """The Langfuse `Prompt` shape (plus id, author and times)."""
    served = p if isinstance(p, service.ServedPrompt) else service.ServedPrompt.of(p)
    return {
        "id": served.prompt_id,
        "projectId": served.project_id,
        "name": served.name,
        "version": served.version,
        "type": served.type,
        "prompt": served.prompt,
        "config": served.config,
        "labels": served.labels,
        "tags": served.tags,
        "commitMessage": served.commit_message,
        "resolutionGraph": served.resolution_graph,
        "createdBy": served.created_by,
        "createdAt": served.created_at.isoformat(),
        "updatedAt": served.updated_at.isoformat(),
    }


def summary_to_api(s: service.PromptSummary) -> dict[str, Any]:
    """The Langfuse `PromptMeta` shape of a list item."""
    return {
        "name": s.name,
        "type": s.type,
        "versions": s.versions,
        "labels": s.labels,
        "tags": s.tags,
        "lastUpdatedAt": s.last_updated_at.isoformat(),
        "lastConfig": s.last_config,
    }


@post("/v2/prompts", status_code=201, opt=CREATE_PROMPT.opt)
async def create_prompt(request: Request[Any, Any, State]) -> dict[str, Any]:
    new = parse_new_version(await json_body(request))
    return to_api(await service.create_prompt(request.app.state.storage, _caller(request), new))


@get("/v2/prompts/{rest:path}")
async def get_prompt(
    request: Request[Any, Any, State],
    version: Annotated[int | None, Parameter(ge=1, le=MAX_VERSION)] = None,
    label: str | None = None,
    resolve: bool = True,
) -> dict[str, Any]:
    served = await service.get_prompt(
        request.app.state.storage,
        _caller(request).project_id,
        _prompt_name(request),
        version=version,
        label=label,
        resolve_refs=resolve,
    )
    return to_api(served)


@get("/v2/prompts")
async def list_prompts(
    request: Request[Any, Any, State],
    name: str | None = None,
    label: str | None = None,
    tag: str | None = None,
    from_updated_at: Annotated[datetime | None, Parameter(query="fromUpdatedAt")] = None,
    to_updated_at: Annotated[datetime | None, Parameter(query="toUpdatedAt")] = None,
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    storage, project_id = request.app.state.storage, _caller(request).project_id
    f = service.PromptFilter(
        name=name,
        label=label,
        tag=tag,
        updated_from=from_updated_at and check_time(from_updated_at, "fromUpdatedAt"),
        updated_to=to_updated_at and check_time(to_updated_at, "toUpdatedAt"),
    )
    rows = await service.list_prompts(storage, project_id, f, limit, offset=(page - 1) * limit)
    total = await service.count_prompts(storage, project_id, f)
    return {"data": [summary_to_api(s) for s in rows], "meta": page_meta(page, limit, total)}


@patch("/v2/prompts/{rest:path}", opt=SET_LABELS.opt)
async def update_prompt_version(request: Request[Any, Any, State]) -> dict[str, Any]:
    name, version = _version_route(request)
    body = await json_body(request)
    if not isinstance(body, dict) or "newLabels" not in body:
        raise InvalidInput("newLabels is required: a list of labels")
    labels = _labels(body["newLabels"], "newLabels", allow_latest=False)
    row = await service.set_labels(
        request.app.state.storage, _caller(request), name, version, labels, replace=False
    )
    return to_api(row)


@delete("/v2/prompts/{rest:path}", status_code=204, opt=DELETE_PROMPT.opt)
async def delete_prompt(
    request: Request[Any, Any, State],
    version: Annotated[int | None, Parameter(ge=1, le=MAX_VERSION)] = None,
    label: str | None = None,
) -> Response[None]:
    await service.delete_prompt(
        request.app.state.storage, _caller(request), _prompt_name(request), version=version, label=label
    )
    return Response(None, status_code=204)


PROMPT_ROUTES = [create_prompt, get_prompt, list_prompts, update_prompt_version, delete_prompt]
