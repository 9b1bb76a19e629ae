"""Code evaluators (`type: code`, Python): the evaluator's `evaluate(**variables)` runs in a separate process.

The child is `python -I -S` (no site-packages, no user paths) with an empty environment, a fresh empty
working directory and rlimits on CPU time, address space, file size, open files, core dumps and processes,
set by a small bootstrap before the evaluator's code is compiled. The parent enforces a wall-clock timeout
and an output cap (both kill the whole process group). Where the OS allows unprivileged namespaces
(`unshare -rn`), the child also runs in its own network namespace (no interface is up: every connect fails,
even to 127.0.0.1) and its own PID namespace (nothing it forks outlives it). Elsewhere it runs without
network isolation and `network_isolated` says so. The kernel does not apply RLIMIT_NPROC to root: run the
server as a normal user.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

from app.errors import InvalidInput
from app.storage.postgres.eval_tables import EvaluationSettings, EvaluatorVersion

# Runs inside the child, from `-c`: limits first, then the evaluator. Its own stdout is kept for the answer;
# fd 1 is pointed at stderr so the evaluator's prints become its logs.
_BOOTSTRAP = r"""
import json, os, resource, signal, sys
class CPULimitExceeded(BaseException):
    pass
def on_xcpu(*_):
    raise CPULimitExceeded("stopped at the CPU time limit")
signal.signal(signal.SIGXCPU, on_xcpu)
cpu, mem, fsize, nofile = (int(a) for a in sys.argv[1:5])
for res, soft, hard in (
    (resource.RLIMIT_CPU, cpu, cpu + 1), (resource.RLIMIT_AS, mem, mem),
    (resource.RLIMIT_FSIZE, fsize, fsize), (resource.RLIMIT_NOFILE, nofile, nofile),
    (resource.RLIMIT_CORE, 0, 0), (resource.RLIMIT_NPROC, 0, 0),
):
    resource.setrlimit(res, (soft, hard))
os.environ.clear()
payload = json.loads(sys.stdin.read())
answer = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdin.close()
try:
    scope = {"__name__": "evaluator"}
    exec(compile(payload["code"], "<evaluator>", "exec"), scope)
    evaluate = scope.get("evaluate")
    if not callable(evaluate):
        raise TypeError("the code defines no evaluate(**variables) function")
    text = json.dumps({"ok": True, "result": evaluate(**payload["variables"])})
except BaseException as exc:
    text = json.dumps({"ok": False, "error": (type(exc).__name__ + ": " + str(exc))[:2000]})
sys.stdout.flush()
answer.write(text)
answer.flush()
"""

UNSHARE = "/usr/bin/unshare"
_UNSHARE_ARGS = ("-rn", "--pid", "--fork", "--kill-child")


@dataclass(frozen=True, slots=True)
class CodeLimits:
    """What one run may use: CPU seconds, wall-clock seconds, address space and output bytes, file size."""

    cpu_s: int = 5
    wall_s: float = 10.0
    memory_bytes: int = 512 * 1024 * 1024
    output_bytes: int = 64 * 1024
    file_bytes: int = 1024 * 1024
    open_files: int = 32


@dataclass(frozen=True, slots=True)
class CodeResult:
    """The evaluator's answer (`score`, `reasoning`) and what it printed (cut at the output limit)."""

    score: float | bool | str
    reasoning: str
    logs: str
    network_isolated: bool


@dataclass(slots=True)
class CodeRunError(Exception):
    """The code did not produce an answer: it raised, broke a limit or answered outside the contract."""

    reason: str
    logs: str = field(default="")

    def __str__(self) -> str:
        return self.reason


@functools.cache
def network_isolation_available() -> bool:
    """Whether this OS lets us put the child in its own user, network and PID namespaces (probed once)."""
    if not sys.platform.startswith("linux") or not os.path.exists(UNSHARE):
        return False
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv
            [UNSHARE, *_UNSHARE_ARGS, "/bin/true"], env={}, capture_output=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def validate_source(source: str) -> None:
    """Refuse code that does not compile or defines no `evaluate`; nothing is run."""
    try:
        tree = ast.parse(source, "<evaluator>")
    except SyntaxError as exc:
        raise InvalidInput(f"sourceCode: line {exc.lineno}: {exc.msg}") from exc
    if not any(isinstance(node, ast.FunctionDef) and node.name == "evaluate" for node in tree.body):
        raise InvalidInput("sourceCode: the code must define evaluate(**variables)")


async def run_code(
    source: str,
    variables: dict[str, object],
    limits: CodeLimits = CodeLimits(),
    *,
    isolate_network: bool = True,
) -> CodeResult:
    """Run `evaluate(**variables)` of `source` in a sandboxed child; raise CodeRunError when it fails."""
    isolated = isolate_network and network_isolation_available()
    argv = [
        sys.executable,
        "-I",
        "-S",
        "-c",
        _BOOTSTRAP,
        str(limits.cpu_s),
        str(limits.memory_bytes),
        str(limits.file_bytes),
        str(limits.open_files),
    ]
    if isolated:
        argv = [UNSHARE, *_UNSHARE_ARGS, *argv]
    payload = json.dumps({"code": source, "variables": variables}, default=str).encode()
    workdir = tempfile.mkdtemp(prefix="langhouse-code-")
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={},
            cwd=workdir,
            start_new_session=True,
        )
        answer, logs, failure = await _collect(proc, payload, limits)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    log_text = logs.decode(errors="replace")
    if failure is not None:
        raise CodeRunError(failure, log_text)
    return _parse_answer(answer, proc.returncode, limits, log_text, isolated)


async def _collect(
    proc: asyncio.subprocess.Process, payload: bytes, limits: CodeLimits
) -> tuple[bytes, bytes, str | None]:
    """Feed stdin, read both pipes up to the output cap, within the wall-clock limit; kill on any breach."""
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    over: list[str] = []

    async def read(stream: asyncio.StreamReader) -> bytes:
        data = bytearray()
        while chunk := await stream.read(65536):
            room = limits.output_bytes - len(data)
            data += chunk[: max(room, 0)]
            if len(chunk) > room:
                over.append(f"output over the limit of {limits.output_bytes} bytes: cut and stopped")
                _kill(proc)
                break
        return bytes(data)

    async def feed() -> None:
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.write(payload)
            await proc.stdin.drain()
            proc.stdin.close()

    try:
        async with asyncio.timeout(limits.wall_s):
            _, answer, logs = await asyncio.gather(feed(), read(proc.stdout), read(proc.stderr))
            await proc.wait()
    except TimeoutError:
        _kill(proc)
        await proc.wait()
        return b"", b"", f"stopped after the wall-clock limit of {limits.wall_s:g} s"
    return answer, logs, over[0] if over else None


def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _parse_answer(
    answer: bytes, returncode: int | None, limits: CodeLimits, logs: str, isolated: bool
) -> CodeResult:
    if not answer:
        raise CodeRunError(_exit_reason(returncode, limits), logs)
    try:
        decoded = json.loads(answer)
    except ValueError as exc:
        raise CodeRunError("the evaluator's answer is not JSON", logs) from exc
    if not isinstance(decoded, dict) or not decoded.get("ok"):
        error = decoded.get("error") if isinstance(decoded, dict) else None
        if isinstance(error, str) and error.startswith("MemoryError"):
            error = f"{error} (memory limit {limits.memory_bytes // (1024 * 1024)} MiB)"
        raise CodeRunError(str(error or "the evaluator failed"), logs)
    result = decoded.get("result")
    if not isinstance(result, dict) or "score" not in result:
        raise CodeRunError("evaluate() must return a dict with 'score' and 'reasoning'", logs)
    score = result["score"]
    if not isinstance(score, (int, float, bool, str)):
        raise CodeRunError("evaluate()'s score must be a number, a boolean or a string", logs)
    reasoning = result.get("reasoning", "")
    return CodeResult(score, reasoning if isinstance(reasoning, str) else str(reasoning), logs, isolated)


def _exit_reason(returncode: int | None, limits: CodeLimits) -> str:
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return f"stopped by a limit (CPU {limits.cpu_s} s), signal {-returncode}"
    return f"the evaluator exited without an answer (exit {returncode})"


async def run_code_evaluator(
    settings: EvaluationSettings,
    version: EvaluatorVersion,
    variables: dict[str, object],
    limits: CodeLimits = CodeLimits(),
) -> CodeResult:
    """Run a code evaluator's version for one target, if the project's settings allow code evaluators."""
    if not settings.code_evaluators_enabled:
        raise CodeRunError("code evaluators are disabled for this project")
    if (version.source_code_language or "PYTHON").upper() != "PYTHON" or not version.source_code:
        raise CodeRunError("a code evaluator needs Python source code")
    return await run_code(version.source_code, variables, limits)
