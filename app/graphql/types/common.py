"""Inputs and types every list shares: time ranges, number ranges, tags, metadata filters, sort direction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import cast

import strawberry
from strawberry.scalars import JSON

from app.storage.clickhouse.queries.common import MetadataFilter, NumberRange, TagFilter, TagMatch, TimeRange


@strawberry.input(description="A time range [from, to). Omitted parts default to the last 24 hours.")
class TimeRangeInput:
    from_: datetime | None = strawberry.field(
        default=None, name="from", description="Start (inclusive), UTC."
    )
    to: datetime | None = strawberry.field(default=None, description="End (exclusive), UTC; default now.")


def time_range(value: TimeRangeInput | None, argument: str = "timeRange") -> TimeRange:
    """The range asked for; a bound out of range is a user error naming `argument`.from/.to."""
    return TimeRange.resolve(
        value.from_ if value else None,
        value.to if value else None,
        names=(f"{argument}.from", f"{argument}.to"),
    )


@strawberry.input(description="Bounds of a number, both inclusive and optional.")
class NumberRangeInput:
    min: float | None = strawberry.field(default=None, description="Lowest value.")
    max: float | None = strawberry.field(default=None, description="Highest value.")


def number_range(value: NumberRangeInput | None) -> NumberRange | None:
    return None if value is None else NumberRange(value.min, value.max)


@strawberry.enum(description="How tags must match.")
class TagMatchMode(Enum):
    ANY = "ANY"
    ALL = "ALL"


@strawberry.input(description="Keep items that have any (or all) of these tags.")
class TagFilterInput:
    values: list[str] = strawberry.field(description="Tags.")
    match: TagMatchMode = strawberry.field(default=TagMatchMode.ANY, description="ANY or ALL of them.")


def tag_filter(value: TagFilterInput | None) -> TagFilter | None:
    return None if value is None else TagFilter(tuple(value.values), TagMatch(value.match.value))


@strawberry.input(description="A metadata key, and optionally the value (as text) it must have.")
class MetadataFilterInput:
    key: str = strawberry.field(description="Metadata key.")
    value: str | None = strawberry.field(default=None, description="Its value; omit to only require the key.")


def metadata_filters(values: list[MetadataFilterInput] | None) -> tuple[MetadataFilter, ...]:
    return tuple(MetadataFilter(m.key, m.value) for m in values or [])


@strawberry.enum(description="Sort direction.")
class SortDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


def selects_any(selections: Sequence[object], names: set[str]) -> bool:
    """Whether any of these field names is selected anywhere below (to read large columns only then)."""
    stack = list(selections)
    while stack:
        node = stack.pop()
        if getattr(node, "name", None) in names:
            return True
        stack.extend(getattr(node, "selections", []) or [])
    return False


def as_json(value: object) -> JSON:
    """A Python value (dict, list, number…) as the JSON scalar."""
    return cast(JSON, value)
