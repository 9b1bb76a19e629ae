"""Write the SDL of build_schema() to app/graphql/schema.graphql (`make schema`)."""

from __future__ import annotations

from pathlib import Path

from app.graphql.schema import build_schema

SCHEMA_FILE = Path(__file__).with_name("schema.graphql")


def render() -> str:
    return build_schema().as_str() + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(render())
    print(f"wrote {SCHEMA_FILE}")
