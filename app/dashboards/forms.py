"""Forms of the UI that come back when refused: what was typed kept, and a message beside each bad field.

A handler reads its form with `read_form` (text fields, never refused by the framework), converts and
checks it, and on a UserError renders its page again with `Fields.errors(exc)` and `refused(...)`. The
templates show the messages with the macros of `_forms.html`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from litestar import Request
from litestar.datastructures import State
from litestar.response import Template

from app.errors import InvalidInput, UserError

FORM_WIDE = "form"  # the key of an error about the whole form rather than one field
F = TypeVar("F")


class FormInvalid(InvalidInput):
    """Bad values of a form, a message per field (in the form's order), each already in a user's words."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


async def read_form(request: Request[Any, Any, State], cls: type[F]) -> F:
    """The posted form as `cls`, a dataclass whose init fields are text: each field's first value, its
    default (else "") when left out. Never refused here, so a form with a bad value can always be shown
    again as typed; `cls` converts and checks its text itself."""
    form = await request.form()
    values: dict[str, str] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not f.init or f.type not in ("str", str):
            continue
        value = form.get(f.name)
        if isinstance(value, str):
            values[f.name] = value
        elif f.default is dataclasses.MISSING:
            values[f.name] = ""
    return cls(**values)


@dataclass(frozen=True, slots=True)
class Fields:
    """A form's fields as people read them: `labels` maps each field to its label, in the form's order;
    `names` maps other names the checks give a field at the start of their messages (`baseUrl`) to the
    field; `about` maps the start of other messages about one field (`no user`) to it."""

    labels: dict[str, str]
    names: Mapping[str, str] = field(default_factory=dict)
    about: Mapping[str, str] = field(default_factory=dict)

    def errors(self, exc: UserError) -> dict[str, str]:
        """{field: message} of a refused form. A FormInvalid gives its own; a message that starts with a
        field's name goes beside that field, the name said as its label (`input_price must be …` →
        `Input price must be …`), as does one `about` names; any other message is about the whole form."""
        if isinstance(exc, FormInvalid):
            return exc.errors
        message = str(exc)
        names = {**{name: name for name in self.labels}, **self.names}
        for name in sorted(names, key=len, reverse=True):  # `input_price` before `input`
            rest = message[len(name) :]
            if message.startswith(name) and rest[:1] in ("", " ", ":", ".", "["):
                return {names[name]: self.labels[names[name]] + rest}
        sentence = message[:1].upper() + message[1:]
        return {
            next((f for start, f in self.about.items() if message.startswith(start)), FORM_WIDE): sentence
        }


def refused(response: Template, exc: UserError) -> Template:
    """`response`, a page showing a refused form again, with the refusal's status (400 for a bad value)."""
    response.status_code = exc.status
    return response
