"""Apply the numbered, forward-only ClickHouse DDL files in sql/clickhouse/, recording each one."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from app.errors import InternalError
from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.query import dangerous_raw_sql

SQL_DIR = Path(__file__).resolve().parents[3] / "sql" / "clickhouse"
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LIST_APPLIED = "SELECT version FROM langhouse_migrations ORDER BY version"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
    checksum: str


def render(sql: str, cluster: str | None) -> str:
    """Fill the cluster placeholders: ON CLUSTER + Replicated engines on a cluster, nothing otherwise."""
    on_cluster = f"ON CLUSTER {cluster}" if cluster else ""
    return sql.replace("${ON_CLUSTER}", on_cluster).replace("${REPLICATED}", "Replicated" if cluster else "")


def load_migrations(cluster: str | None, sql_dir: Path = SQL_DIR) -> list[Migration]:
    """Read and render every migration file, in version order."""
    migrations = []
    for path in sorted(sql_dir.glob("*.sql")):
        match = _FILE.match(path.name)
        if not match:
            raise InternalError(f"unexpected file in {sql_dir}: {path.name}")
        text = path.read_text()
        body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
        statements = tuple(s.strip() for s in render(body, cluster).split(";") if s.strip())
        checksum = hashlib.sha256(text.encode()).hexdigest()
        migrations.append(Migration(int(match[1]), match[2], statements, checksum))
    if not migrations:
        raise InternalError(f"no ClickHouse migrations found in {sql_dir}")
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise InternalError("two ClickHouse migrations share a version number")
    return migrations


async def migrate_clickhouse(ch: ClickHouse, cluster: str | None) -> list[int]:
    """Apply the migrations not yet recorded; return the versions applied (idempotent)."""
    await ch.command(
        render(
            "CREATE TABLE IF NOT EXISTS langhouse_migrations ${ON_CLUSTER} "
            "(version UInt32, name String, checksum String, applied_at DateTime DEFAULT now()) "
            "ENGINE = ${REPLICATED}MergeTree ORDER BY version",
            cluster,
        ),
        "migrate.table",
    )
    rows = await ch.query(dangerous_raw_sql(_LIST_APPLIED, "migrate.applied"))
    applied = {int(str(r["version"])) for r in rows}
    done = []
    for migration in load_migrations(cluster):
        if migration.version in applied:
            continue
        for statement in migration.statements:
            await ch.command(statement, f"migrate.v{migration.version}")
        await ch.insert(
            "langhouse_migrations",
            [[migration.version, migration.name, migration.checksum]],
            ["version", "name", "checksum"],
            "migrate.record",
        )
        done.append(migration.version)
    return done
