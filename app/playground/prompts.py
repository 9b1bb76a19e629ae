"""How prompt management meets the playground: open a prompt version in it, and save what was edited
there as a new version. Prompt storage lives elsewhere; it plugs in through PlaygroundHooks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from app.auth.caller import Caller
from app.errors import InvalidInput
from app.playground.providers import ModelParams
from app.playground.runs import PlaygroundState
from app.prompts.content import PromptContent, content_from_langfuse, content_to_langfuse
from app.storage import Storage


@dataclass(frozen=True, slots=True)
class PlaygroundPrompt:
    """A prompt (version) to open in the playground."""

    content: PromptContent
    config: dict[str, Any] = field(default_factory=dict)
    name: str | None = None
    version: int | None = None


def open_prompt(
    prompt_type: str, prompt: Any, config: Any = None, name: str | None = None, version: int | None = None
) -> PlaygroundPrompt:
    """A prompt in the Langfuse API shape — `type` "text" (a string) or "chat" (a list of
    `{role, content}` and `{type: "placeholder", name}`), with its `config` — made ready for the page."""
    if config is not None and not isinstance(config, dict):
        raise InvalidInput("config must be a JSON object")
    return PlaygroundPrompt(content_from_langfuse(prompt_type, prompt), dict(config or {}), name, version)


PARAM_KEYS = frozenset({"model", "temperature", "max_tokens", "maxTokens", "top_p", "topP"})
"""Config keys the playground edits (model and parameters); others pass through it unchanged."""


def merged_config(stored: dict[str, Any], edited: dict[str, Any]) -> dict[str, Any]:
    """The config of a version saved from the playground: the stored version's other keys kept, its
    model and parameters replaced by the playground's (a parameter cleared there is dropped)."""
    return {**{k: v for k, v in stored.items() if k not in PARAM_KEYS}, **edited}


def _param(config: dict[str, Any], *keys: str) -> Any:
    value = next((config[k] for k in keys if k in config), None)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def state_of(prompt: PlaygroundPrompt, connection_id: str = "") -> PlaygroundState:
    """The page state that shows `prompt`: its content, and model and parameters from its config."""
    config = prompt.config
    max_tokens = _param(config, "max_tokens", "maxTokens")
    return PlaygroundState(
        content=prompt.content,
        connection_id=connection_id,
        model=str(config.get("model") or ""),
        params=ModelParams(
            temperature=_param(config, "temperature"),
            max_tokens=int(max_tokens) if max_tokens is not None else None,
            top_p=_param(config, "top_p", "topP"),
        ),
        prompt_name=prompt.name,
        prompt_version=prompt.version,
    )


@dataclass(frozen=True, slots=True)
class PlaygroundVersion:
    """What the playground asks prompt storage to save: the edited content and its model config."""

    name: str
    type: str
    prompt: str | list[dict[str, object]]  # the stored (Langfuse API) shape
    config: dict[str, Any]
    based_on_version: int | None
    user_id: str | None
    commit_message: str | None = None

    @classmethod
    def of(
        cls, state: PlaygroundState, user_id: str | None, commit_message: str | None = None
    ) -> PlaygroundVersion:
        if not state.prompt_name:
            raise InvalidInput("prompt_name is required to save a prompt version")
        config: dict[str, Any] = {**state.params.as_dict(), **({"model": state.model} if state.model else {})}
        return cls(
            state.prompt_name,
            state.content.type,
            content_to_langfuse(state.content),
            config,
            state.prompt_version,
            user_id,
            commit_message,
        )


PromptLoader = Callable[[Storage, str, str, int | None, str | None], Awaitable[PlaygroundPrompt | None]]
"""(storage, project_id, prompt name, version, label; neither: the latest) → the prompt, or None."""
SaveVersion = Callable[[Storage, Caller, PlaygroundVersion], Awaitable[int]]
"""(storage, the logged-in caller (project, role, author), new version) → the number it created."""


async def load_no_prompt(
    storage: Storage, project_id: str, name: str, version: int | None, label: str | None
) -> None:
    """The loader until prompt storage is wired: no prompt can be opened by name."""
    return None


@dataclass(frozen=True, slots=True)
class PlaygroundHooks:
    """Prompt storage's part in the playground, given to create_app; saving is off while unset."""

    load_prompt: PromptLoader = load_no_prompt
    save_version: SaveVersion | None = None
