"""The `langhouse` command: serve | worker | migrate | project | keys | users | ingest | datasets."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
import warnings
from collections.abc import Awaitable, Callable
from typing import IO, TYPE_CHECKING, Any

from app.errors import AppError

if TYPE_CHECKING:  # the heavy imports wait for `main`, where Ctrl-C is handled
    from app.settings import Settings
    from app.storage import Storage

# The choices of --role; tests check they are the roles of app.storage.postgres.tables.Role.
ROLES = ("owner", "admin", "member", "viewer")


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    from app.serve import serve

    if args.host:
        settings.host = args.host
    if args.port:
        settings.port = args.port
    asyncio.run(serve(settings))


def _worker(settings: Settings, args: argparse.Namespace) -> None:
    from app.jobs.worker import run_standalone

    asyncio.run(run_standalone(settings))


async def _with_storage(
    settings: Settings, fn: Callable[[Storage], Awaitable[None]], clickhouse: bool
) -> None:
    from app.storage import open_storage

    async with open_storage(settings, clickhouse=clickhouse) as storage:
        if clickhouse:
            await storage.migrate()
        elif settings.migrate_on_start:
            await storage.postgres.migrate()
        await fn(storage)


def _admin(fn: Callable[[Storage, argparse.Namespace], Awaitable[None]], clickhouse: bool = False) -> Any:
    def run(settings: Settings, args: argparse.Namespace) -> None:
        asyncio.run(_with_storage(settings, lambda storage: fn(storage, args), clickhouse))

    return run


async def _migrate(storage: Storage, args: argparse.Namespace) -> None:
    print("migrations applied: Postgres at revision", await storage.postgres.current_revision())


async def _project_create(storage: Storage, args: argparse.Namespace) -> None:
    from app.auth import accounts
    from app.storage.postgres import accounts as repo
    from app.storage.postgres.tables import Role

    org = await accounts.ensure_organization(storage, args.org)
    project = await accounts.create_project(storage, org, args.name)
    if args.owner:
        user = await repo.find_user(storage.postgres, args.owner)
        if user is None:
            raise AppError(f"no user with email {args.owner!r}; create it with `langhouse users create`")
        await repo.set_membership(storage.postgres, user.id, org.id, Role.OWNER, project.id)
    print(f"project created: {project.name} (id {project.id}) in organization {org.name}")


async def _keys_create(storage: Storage, args: argparse.Namespace) -> None:
    from app.auth import accounts, keys

    project = await accounts.resolve_project(storage, args.project)
    issued = await keys.issue_api_key(storage, project.id, args.note)
    print(f"API key for project {project.name} ({project.id}). The secret is shown once:")
    print(f"  public key  {issued.key.public_key}")
    print(f"  secret key  {issued.secret_key}")


async def _keys_list(storage: Storage, args: argparse.Namespace) -> None:
    from app.auth import accounts
    from app.storage.postgres import accounts as repo

    project = await accounts.resolve_project(storage, args.project)
    rows = await repo.list_api_keys(storage.postgres, project.id)
    print(f"{'public key':<42} {'secret':<18} {'created':<17} status   note")
    for k in rows:
        status = "revoked" if k.revoked_at else "active "
        created = f"{k.created_at:%Y-%m-%d %H:%M}"
        print(f"{k.public_key:<42} {k.display_secret:<18} {created} {status}  {k.note or ''}")


async def _keys_revoke(storage: Storage, args: argparse.Namespace) -> None:
    from app.auth import accounts, keys

    project = await accounts.resolve_project(storage, args.project)
    await keys.revoke_api_key(storage, project.id, args.public_key)
    print(f"revoked {args.public_key}")


PIPED_PASSWORD_WAIT_S = 2.0  # how long a password on standard input may take to arrive


def _read_password(args: argparse.Namespace) -> str:
    """--password, else a prompt at a terminal, else the first line piped on standard input; said
    before the stores start, and never a wait on an input nobody writes to."""
    import select

    if args.password is not None:
        return str(args.password)
    if sys.stdin.isatty():
        return getpass.getpass("Password: ")
    ready, _, _ = select.select([sys.stdin], [], [], PIPED_PASSWORD_WAIT_S)
    line = sys.stdin.readline().rstrip("\r\n") if ready else ""
    if not line:
        raise AppError(
            "no password given: pass --password PASSWORD (standard input is not a terminal, "
            "so there is no prompt, and nothing was piped to it)"
        )
    return line


def _users_create(settings: Settings, args: argparse.Namespace) -> None:
    args.password = _read_password(args)
    _admin(_create_user)(settings, args)


async def _create_user(storage: Storage, args: argparse.Namespace) -> None:
    from app.auth import accounts
    from app.storage.postgres.tables import Role

    org = await accounts.ensure_organization(storage, args.org) if args.org else None
    user = await accounts.create_user(storage, args.email, args.password, org, Role(args.role))
    where = f" as {args.role} of {org.name}" if org else ""
    print(f"user created: {user.email}{where}")


async def _users_set_role(storage: Storage, args: argparse.Namespace) -> None:
    from app.auth import accounts
    from app.storage.postgres.tables import Role

    user = await accounts.set_role_by_name(storage, args.email, args.org, Role(args.role))
    print(f"{user.email} is now {args.role} of {args.org.strip()}")


async def _ingest_replay(storage: Storage, args: argparse.Namespace) -> None:
    from app.jobs.contracts import JobQueue
    from app.jobs.ingest import replay, take_dead_letters

    keys = list(args.key or [])
    if args.dead_letters:
        keys += await take_dead_letters(storage)
    for day in args.day or []:
        keys += await storage.blobs.list_keys(f"ingest/{day}/", limit=1_000_000)
    if not keys:
        print("nothing to replay (give --dead-letters, --day YYYY-MM-DD or --key KEY)")
        return
    queue = await JobQueue.connect(storage.redis_url)
    try:
        count = await replay(storage, queue, keys)
    finally:
        await queue.close()
    print(f"re-enqueued {count} raw objects; the worker (or the running server) processes them idempotently")


async def _ingest_status(storage: Storage, args: argparse.Namespace) -> None:
    from app.jobs.contracts import JobQueue
    from app.jobs.ingest import DEAD_LETTERS, list_dead_letters

    queue = await JobQueue.connect(storage.redis_url)
    try:
        print(f"queued jobs: {await queue.backlog()}")
    finally:
        await queue.close()
    print(f"dead letters: {await storage.cache.list_length(DEAD_LETTERS)}")
    for letter in await list_dead_letters(storage, args.limit):
        print(f"  {letter.key}: {letter.error}")
        for row in letter.rows:
            print(f"    {row.row}: {row.reason}")


async def _project_of(storage: Storage, ref: str | None) -> Any:
    from app.auth import accounts

    return await accounts.resolve_project(storage, ref) if ref else await accounts.only_project(storage)


def _progress_bar(done: bool, percent: int, imported: int, bad: int) -> None:
    filled = percent * 30 // 100
    line = f"\r[{'#' * filled}{' ' * (30 - filled)}] {percent:3d}%  {imported} imported, {bad} bad"
    print(line, end="\n" if done else "", file=sys.stderr, flush=True)


async def _datasets_import(storage: Storage, args: argparse.Namespace) -> None:
    import time

    from app.evaluation import datasets, import_run, imports

    project = await _project_of(storage, args.project)
    fmt = imports.detect_format(args.file)

    def head() -> tuple[int, tuple[str, ...]]:
        with open(args.file, "rb") as f:
            return os.fstat(f.fileno()).st_size, imports.sample(f, fmt).columns

    try:
        size, columns = await asyncio.to_thread(head)
    except OSError as exc:
        raise AppError(f"cannot read {args.file}: {exc.strerror}") from None
    mapping = (
        imports.parse_mapping(args.mapping)
        if args.mapping
        else imports.mapping_of(imports.default_mapping(columns))
    )
    dataset = await datasets.upsert_dataset(storage, project.id, datasets.DatasetSpec(args.name))
    fields = ", ".join(f"{k}={'+'.join(getattr(mapping, k))}" for k in imports.FIELDS if getattr(mapping, k))
    print(
        f"importing {args.file} into dataset {dataset.name!r} of project {project.name} ({fields})",
        file=sys.stderr,
    )
    start = import_run.ImportProgress("cli", dataset.id, total_bytes=size, started_at=time.time())

    async def show(p: import_run.ImportProgress) -> None:
        _progress_bar(False, p.percent, p.imported, p.bad_count)

    f = await asyncio.to_thread(open, args.file, "rb")
    try:
        done = await import_run.import_rows(storage, project.id, dataset.name, f, fmt, mapping, start, show)
    finally:
        f.close()
    _progress_bar(True, 100, done.imported, done.bad_count)
    for line, reason in done.bad_rows:
        print(f"line {line}: {reason}", file=sys.stderr)
    if done.bad_count > len(done.bad_rows):
        print(f"… and {done.bad_count - len(done.bad_rows)} more bad rows", file=sys.stderr)
    print(f"imported {done.imported} items into {dataset.name} ({done.bad_count} bad rows)")
    if done.imported == 0 and done.bad_count:
        raise AppError("every row failed; nothing was imported")


async def _datasets_export(storage: Storage, args: argparse.Namespace) -> None:
    from app.evaluation import datasets, exports

    project = await _project_of(storage, args.project)
    dataset = await datasets.fetch_dataset(storage, project.id, name=args.name)
    if dataset is None:
        raise AppError(f"no dataset named {args.name!r} in project {project.name}")
    fmt = exports.export_format(args.format or ("jsonl" if (args.out or "").endswith(".jsonl") else "csv"))
    statuses = (
        (datasets.ItemStatus.ACTIVE, datasets.ItemStatus.ARCHIVED)
        if args.archived
        else (datasets.ItemStatus.ACTIVE,)
    )
    query = datasets.ItemQuery(dataset.id, statuses=statuses)
    out: IO[str] = (
        await asyncio.to_thread(open, args.out, "w", encoding="utf-8", newline="") if args.out else sys.stdout
    )
    count = 0
    try:
        batch: list[dict[str, Any]] = []
        async for record in exports.item_records(storage, project.id, query):
            batch.append(record)
            if len(batch) >= exports.PAGE:
                out.writelines(exports.encode(batch, fmt, exports.ITEM_COLUMNS, header=count == 0))
                count += len(batch)
                batch = []
        out.writelines(exports.encode(batch, fmt, exports.ITEM_COLUMNS, header=count == 0))
        count += len(batch)
    finally:
        if out is not sys.stdout:
            out.close()
    print(
        f"exported {count} items of {dataset.name}" + (f" to {args.out}" if args.out else ""), file=sys.stderr
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="langhouse", description="Langhouse: LLM tracing, prompts and evals."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web server (embedded stores unless service URLs are set)")
    serve.add_argument("--host", help="bind address (default LANGHOUSE_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default LANGHOUSE_PORT or 3000)")
    serve.set_defaults(run=_serve)
    sub.add_parser("worker", help="run the background job worker (services mode)").set_defaults(run=_worker)
    sub.add_parser("migrate", help="apply ClickHouse and Postgres migrations").set_defaults(
        run=_admin(_migrate, clickhouse=True)
    )

    project = sub.add_parser("project", help="manage projects").add_subparsers(dest="action", required=True)
    create = project.add_parser("create", help="create a project")
    create.add_argument("--org", required=True, help="organization name (created if missing)")
    create.add_argument("--name", required=True, help="project name")
    create.add_argument("--owner", help="email of a user to make owner of the project")
    create.set_defaults(run=_admin(_project_create))

    keys = sub.add_parser("keys", help="manage project API keys").add_subparsers(dest="action", required=True)
    kc = keys.add_parser("create", help="create an API key (the secret is printed once)")
    kc.add_argument("--project", required=True, help="project id or name")
    kc.add_argument("--note", help="free-text note")
    kc.set_defaults(run=_admin(_keys_create))
    kl = keys.add_parser("list", help="list a project's API keys")
    kl.add_argument("--project", required=True, help="project id or name")
    kl.set_defaults(run=_admin(_keys_list))
    kr = keys.add_parser("revoke", help="revoke an API key")
    kr.add_argument("public_key", help="the public key (pk-lh-...)")
    kr.add_argument("--project", required=True, help="project id or name")
    kr.set_defaults(run=_admin(_keys_revoke))

    ingest = sub.add_parser("ingest", help="ingestion queue maintenance").add_subparsers(
        dest="action", required=True
    )
    ir = ingest.add_parser("replay", help="re-process stored raw requests (idempotent)")
    ir.add_argument("--dead-letters", action="store_true", help="every dead-lettered request")
    ir.add_argument("--day", action="append", help="every request stored that day (YYYY-MM-DD); repeatable")
    ir.add_argument("--key", action="append", help="one stored object key; repeatable")
    ir.set_defaults(run=_admin(_ingest_replay))
    ist = ingest.add_parser("status", help="queued jobs, and dead letters with their reasons")
    ist.add_argument("--limit", type=int, default=50, help="dead letters listed (oldest first)")
    ist.set_defaults(run=_admin(_ingest_status))

    ds = sub.add_parser("datasets", help="import and export dataset items").add_subparsers(
        dest="action", required=True
    )
    di = ds.add_parser(
        "import", help="import a CSV or JSONL file as new items (the dataset is created if missing)"
    )
    di.add_argument("file", help="a .csv file with a header line, or a .jsonl file of JSON objects")
    di.add_argument("--name", required=True, help="dataset name")
    di.add_argument("--project", help="project id or name (default: the only project)")
    di.add_argument(
        "--mapping",
        help="columns of each field, e.g. input=question,expected_output=answer,metadata=topic+level "
        "(several columns make an object); default: columns named like the fields, else the first as input",
    )
    di.set_defaults(run=_admin(_datasets_import))
    de = ds.add_parser("export", help="write a dataset's items as CSV or JSONL")
    de.add_argument("--name", required=True, help="dataset name")
    de.add_argument("--project", help="project id or name (default: the only project)")
    de.add_argument("--format", choices=["csv", "jsonl"], help="default: from --out's extension, else csv")
    de.add_argument("--out", help="file to write (default: standard output)")
    de.add_argument("--archived", action="store_true", help="include archived items")
    de.set_defaults(run=_admin(_datasets_export))

    users = sub.add_parser("users", help="manage users").add_subparsers(dest="action", required=True)
    uc = users.add_parser("create", help="create a user")
    uc.add_argument("--email", required=True)
    uc.add_argument(
        "--password", help="password (else prompted at a terminal, or the first line piped on stdin)"
    )
    uc.add_argument("--org", help="organization to join (created if missing)")
    uc.add_argument("--role", choices=ROLES, default="member")
    uc.set_defaults(run=_users_create)
    ur = users.add_parser(
        "set-role",
        help="set a user's organization-wide role (recovery: can name an owner; never leaves an "
        "organization without one)",
    )
    ur.add_argument("--email", required=True)
    ur.add_argument("--org", required=True, help="organization name")
    ur.add_argument("--role", choices=ROLES, required=True)
    ur.set_defaults(run=_admin(_users_set_role))
    return parser


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    if level != "debug":
        # Start-up chatter: each migration applied, uvicorn's start and stop (`serve` says where it
        # listens in one line). Their warnings and errors still show.
        quiet = max(logging.WARNING, logging.getLogger().level)
        for name in ("alembic", "uvicorn.error"):
            logging.getLogger(name).setLevel(quiet)
    # Where XDG_RUNTIME_DIR is unset (containers, CI), the embedded stores' platformdirs warns on each start.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        from app.settings import Settings

        settings = Settings()
        _configure_logging(settings.log_level)
        args.run(settings, args)
    except AppError as exc:
        print(f"langhouse: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:  # Ctrl-C before `serve` handles it itself, or in any other command
        after_echo = "\n" if sys.stderr.isatty() else ""  # the terminal echoed ^C on the current line
        if args.command == "serve":
            print(f"{after_echo}Langhouse stopped.", file=sys.stderr)
            return
        print(f"{after_echo}langhouse: interrupted", file=sys.stderr)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
