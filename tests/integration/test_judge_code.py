"""Code evaluators run in a sandboxed child: each limit is shown to stop code that breaks it, next to the same
code inside the limit (so a test fails when the limit is gone or when the sandbox breaks ordinary code)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from app.errors import InvalidInput
from app.evaluation.code_runner import (
    CodeLimits,
    CodeRunError,
    network_isolation_available,
    run_code,
    run_code_evaluator,
    validate_source,
)
from app.storage.postgres.eval_tables import EvaluationSettings, EvaluatorVersion

pytestmark = [pytest.mark.integration]
LIMITS = CodeLimits(cpu_s=1, wall_s=4, memory_bytes=256 * 1024 * 1024, output_bytes=4096)


async def test_evaluate_receives_the_variables_and_answers() -> None:
    source = "def evaluate(output, expected_output):\n    ok = output == expected_output\n"
    source += "    print('compared')\n    return {'score': 1.0 if ok else 0.0, 'reasoning': f'{output!r}'}\n"
    result = await run_code(source, {"output": "Paris", "expected_output": "Paris"}, LIMITS)
    assert (result.score, result.reasoning, result.logs) == (1.0, "'Paris'", "compared\n")


async def test_an_infinite_loop_is_stopped_by_the_cpu_limit() -> None:
    started = time.monotonic()
    with pytest.raises(CodeRunError, match="CPU time limit"):
        await run_code("def evaluate():\n    while True:\n        pass\n", {}, LIMITS)
    assert time.monotonic() - started < LIMITS.wall_s


async def test_a_sleeping_evaluator_is_stopped_by_the_wall_clock() -> None:
    limits = CodeLimits(wall_s=1.0)
    started = time.monotonic()
    with pytest.raises(CodeRunError, match="wall-clock limit of 1 s"):
        await run_code("import time\ndef evaluate():\n    time.sleep(60)\n", {}, limits)
    assert time.monotonic() - started < 5


async def test_a_memory_hog_is_stopped_and_modest_memory_is_allowed() -> None:
    hog = "def evaluate(n):\n    block = bytearray(n)\n    return {'score': len(block), 'reasoning': ''}\n"
    assert (await run_code(hog, {"n": 64 * 1024 * 1024}, LIMITS)).score == 64 * 1024 * 1024
    with pytest.raises(CodeRunError, match=r"MemoryError.*memory limit 256 MiB"):
        await run_code(hog, {"n": 1024 * 1024 * 1024}, LIMITS)


async def test_huge_output_is_cut_at_the_limit_and_the_run_stopped() -> None:
    source = "def evaluate():\n    while True:\n        print('x' * 1000)\n"
    with pytest.raises(CodeRunError, match="output over the limit of 4096 bytes") as caught:
        await run_code(source, {}, CodeLimits(output_bytes=4096, wall_s=4))
    assert len(caught.value.logs) == 4096


async def test_the_environment_is_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGHOUSE_SECRET_FOR_TEST", "do-not-leak")
    assert os.environ["LANGHOUSE_SECRET_FOR_TEST"] == "do-not-leak"
    source = "import os\ndef evaluate():\n"
    source += "    return {'score': len(os.environ), 'reasoning': repr(dict(os.environ))}\n"
    result = await run_code(source, {}, LIMITS)
    assert (result.score, result.reasoning) == (0, "{}")


async def test_files_are_capped_and_the_working_directory_is_fresh() -> None:
    source = (
        "import os\ndef evaluate(n):\n    listed = os.listdir('.')\n"
        "    with open('f', 'wb') as f:\n        f.write(b'x' * n)\n"
        "    return {'score': len(listed), 'reasoning': os.getcwd()}\n"
    )
    result = await run_code(source, {"n": 1000}, LIMITS)
    assert result.score == 0 and "langhouse-code-" in result.reasoning
    assert not os.path.exists(result.reasoning)  # removed after the run
    with pytest.raises(CodeRunError, match="File too large"):
        await run_code(source, {"n": 2 * LIMITS.file_bytes}, LIMITS)


@pytest.fixture
def listener() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)

    def accept() -> None:
        try:
            while True:
                conn, _ = server.accept()
                conn.close()
        except OSError:
            return

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


CONNECT = (
    "import socket\ndef evaluate(port):\n    s = socket.socket()\n    s.settimeout(2)\n"
    "    s.connect(('127.0.0.1', port))\n    return {'score': 1, 'reasoning': 'connected'}\n"
)


async def test_without_isolation_the_same_code_connects(listener: int) -> None:
    result = await run_code(CONNECT, {"port": listener}, LIMITS, isolate_network=False)
    assert (result.reasoning, result.network_isolated) == ("connected", False)


@pytest.mark.skipif(not network_isolation_available(), reason="this OS allows no unprivileged namespaces")
async def test_network_is_isolated_where_the_os_allows(listener: int) -> None:
    with pytest.raises(CodeRunError, match="Network is unreachable"):
        await run_code(CONNECT, {"port": listener}, LIMITS)


@pytest.mark.skipif(os.geteuid() == 0, reason="the kernel does not apply RLIMIT_NPROC to root")
async def test_the_code_cannot_start_processes() -> None:
    source = "import os\ndef evaluate():\n    os.fork()\n    return {'score': 1, 'reasoning': ''}\n"
    with pytest.raises(CodeRunError, match=r"BlockingIOError|Resource temporarily unavailable"):
        await run_code(source, {}, LIMITS)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("def evaluate():\n    return 3\n", "must return a dict with 'score'"),
        ("def evaluate():\n    return {'score': [1]}\n", "score must be a number"),
        ("def evaluate():\n    raise ValueError('no answer here')\n", "ValueError: no answer here"),
        ("x = 1\n", "defines no evaluate"),
        ("def evaluate():\n    return {'score': object()}\n", "TypeError"),
    ],
)
async def test_answers_outside_the_contract_are_errors(source: str, reason: str) -> None:
    with pytest.raises(CodeRunError, match=reason):
        await run_code(source, {}, LIMITS)


def test_source_is_checked_before_it_is_stored() -> None:
    validate_source("def evaluate(**variables):\n    return {'score': 1}\n")
    with pytest.raises(InvalidInput, match="sourceCode: line 1"):
        validate_source("def evaluate(:\n")
    with pytest.raises(InvalidInput, match="sourceCode: the code must define evaluate"):
        validate_source("def judge():\n    return {}\n")


async def test_code_evaluators_run_only_when_the_project_enables_them() -> None:
    version = EvaluatorVersion(
        project_id="p",
        evaluator_id="e",
        version=1,
        source_code="def evaluate(output):\n    return {'score': len(output), 'reasoning': 'length'}\n",
        source_code_language="PYTHON",
    )
    with pytest.raises(CodeRunError, match="code evaluators are disabled for this project"):
        await run_code_evaluator(EvaluationSettings(project_id="p"), version, {"output": "abc"})
    enabled = EvaluationSettings(project_id="p", code_evaluators_enabled=True)
    result = await run_code_evaluator(enabled, version, {"output": "abc"})
    assert (result.score, result.reasoning) == (3, "length")
