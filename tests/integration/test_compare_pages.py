"""The experiment compare view against runs made by the SDK's `run_experiment` on a live server: a clearly
better run is significant, a noise run is not, outputs are diffed and escaped, items sort, filter and page,
bad parameters answer 400/404 naming the parameter, and another project's runs are not found."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from app.evaluation import experiments as ex
from app.evaluation.compare_view import forget_comparisons
from app.storage import Storage
from app.storage.postgres.tables import Role
from tests.conftest import LiveServer, ProjectFixture, login, make_project, make_user, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]

N = 30
XSS = "<script>alert('x')</script>"
DATA = [{"input": f"q{i}", "expected_output": f"Q{i}"} for i in range(N)]


def _index(text: Any) -> int:
    return int(str(text).removeprefix("q"))


def baseline_task(*, item: Any, **_: Any) -> str:
    i = _index(item["input"])
    return f"Q{i}" if i % 2 == 0 else f"Q{i} maybe"  # right on even items only


def better_task(*, item: Any, **_: Any) -> str:
    i = _index(item["input"])
    return f"Q{i} {XSS}" if i == 1 else f"Q{i}"  # right on every item but the hostile one


def quality(shift: Callable[[int], float]) -> Callable[..., Any]:
    def evaluate(*, input: Any, **_: Any) -> Any:
        from langfuse import Evaluation

        i = _index(input)
        return Evaluation(name="quality", value=0.4 + 0.05 * (i % 5) + shift(i))

    return evaluate


def exact(*, output: Any, expected_output: Any, **_: Any) -> Any:
    from langfuse import Evaluation

    return Evaluation(name="exact", value=output == expected_output, data_type="BOOLEAN")


def run_all(server: LiveServer, project: ProjectFixture, plans: dict[str, Any]) -> dict[str, str]:
    """Run every plan (run name: task, quality shift) with one client (clients are shared per key, so
    shutting one down drops the scores of the next); the experiment ids by run name."""
    from langfuse import Langfuse

    lf = Langfuse(public_key=project.public_key, secret_key=project.secret_key, base_url=server.base_url)
    try:
        return {
            name: str(
                lf.run_experiment(
                    name="compare", run_name=name, data=DATA, task=task, evaluators=[exact, quality(shift)]
                ).experiment_id
            )
            for name, (task, shift) in plans.items()
        }
    finally:
        lf.shutdown()


async def _landed(storage: Storage, project_id: str, experiment_id: str) -> None:
    async def check() -> bool:
        found = await ex.experiment_results(storage, project_id, experiment_id, io=False)
        return found is not None and sum(len(r.scores) == 2 for r in found.items) == N

    await wait_for(check, timeout_s=60)


@pytest.fixture
async def runs(live_server: LiveServer, storage: Storage, project: ProjectFixture) -> dict[str, str]:
    """Three runs over the same items: baseline, better (+0.3 quality, every answer right), noise."""
    plans = {
        "baseline": (baseline_task, lambda i: 0.0),
        "better": (better_task, lambda i: 0.3),
        "noise": (baseline_task, lambda i: 0.01 if i % 2 else -0.01),
    }
    ids = await asyncio.to_thread(run_all, live_server, project, plans)
    for eid in ids.values():
        await _landed(storage, project.project_id, eid)
    return ids


async def _viewer(client: httpx.AsyncClient, storage: Storage, project: ProjectFixture) -> None:
    email, password = await make_user(storage, project, Role.VIEWER)
    await login(client, email, password)


def _verdicts(html: str, metric: str) -> list[str]:
    """The verdict cells of one metric's table, in run order (the baseline's is empty)."""
    table = html.split(f'data-metric="{metric}"', 1)[1].split("</table>", 1)[0]
    return [v.strip() for v in re.findall(r'<td class="verdict[^"]*">([^<]*)</td>', table)]


def _items(html: str) -> list[str]:
    return re.findall(r'<article class="item" data-item="([^"]+)"', html)


async def test_compare_view_statistics_diffs_and_item_order(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture, runs: dict[str, str]
) -> None:
    await _viewer(client, storage, project)  # viewers may read
    try:
        base = f"/experiments/compare?baseline={runs['baseline']}&others={runs['better']},{runs['noise']}"
        r = await client.get(base)
        assert r.status_code == 200, r.text
        html = r.text
        # Per score: the better run is significant, the noise run is not.
        assert _verdicts(html, "quality") == ["", "significant: higher", "not significant"]
        assert _verdicts(html, "exact") == ["", "significant: higher", "not significant"]
        assert "Holm" in html and "McNemar" in html and "sign-flip" in html
        assert "not in the Holm family" in html  # cost and latency
        assert _verdicts(html, "cost")[1:] and all("no verdict" in v for v in _verdicts(html, "cost")[1:])
        assert html.count('class="plot"') == 3  # quality, exact, latency
        # Items: the hostile output is text, diffed against the baseline's output and the expected one.
        assert XSS not in html and "<script>alert" not in html
        assert re.search(r"&lt;script&gt;alert\(&#(39|x27);x&#(39|x27);\)&lt;/script&gt;", html)
        assert "<del> maybe</del>" in html  # better vs baseline on an odd item
        assert "<ins> maybe</ins>" in html  # baseline vs expected on an odd item
        assert html.count('class="trace-link"') == 3 * N
        assert f"{N} items" in html and "page 1 of 1" in html
        # Most regressions first: item 1 (quality up, exact equal) regresses nowhere; the noise run's
        # even items (quality -0.01) regress. Filter regressions of the better run: none.
        order = _items(html)
        assert len(order) == N
        regressed = _items((await client.get(f"{base}&filter=regressed")).text)
        assert regressed == [k for k in order if k in regressed] and len(regressed) == N // 2
        better_only = await client.get(f"{base}&filter=regressed&run_id={runs['better']}")
        assert _items(better_only.text) == [] and "No items match" in better_only.text
        improved = _items((await client.get(f"{base}&filter=improved&score=exact")).text)
        assert len(improved) == N // 2 - 1  # odd items, but the hostile one
        by_score = _items((await client.get(f"{base}&sort=score:quality")).text)
        assert len(by_score) == N and set(by_score[: N // 2]) == set(regressed)  # drops first
        for sort in ("cost", "latency"):
            assert len(_items((await client.get(f"{base}&sort={sort}")).text)) == N
        # Repeated `others` (checkboxes) read the same; recomputing gives the same verdicts.
        again = await client.get(
            f"/experiments/compare?baseline={runs['baseline']}&others={runs['better']}"
            f"&others={runs['noise']}&fresh=1"
        )
        assert _verdicts(again.text, "quality") == _verdicts(html, "quality")
        # The experiment page links here; runs ticked on a runs tab include the baseline among them.
        experiment = (await client.get(f"/experiments/{runs['baseline']}")).text
        assert 'action="/experiments/compare"' in experiment
        assert f'name="baseline" value="{runs["baseline"]}"' in experiment
        ticked = await client.get(
            "/experiments/compare",
            params=[("baseline", runs["baseline"])] + [("others", v) for v in runs.values()],
        )
        assert _verdicts(ticked.text, "exact") == _verdicts(html, "exact")
    finally:
        client.cookies.clear()


async def test_compare_view_refuses_bad_parameters_and_other_projects(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture, runs: dict[str, str]
) -> None:
    await _viewer(client, storage, project)
    try:
        b, o, n = runs["baseline"], runs["better"], runs["noise"]
        cases = {
            "/experiments/compare": (400, "baseline:"),
            f"/experiments/compare?baseline={b}": (400, "others:"),
            f"/experiments/compare?baseline={b}&others={b}": (400, "others:"),
            f"/experiments/compare?baseline={b}&others={o},{o}": (400, "others:"),
            f"/experiments/compare?baseline={b}&others={o},{n},x1,x2,x3": (400, "others:"),
            f"/experiments/compare?baseline={b}&others={o}&sort=best": (400, "sort:"),
            f"/experiments/compare?baseline={b}&others={o}&sort=score:nope": (400, "sort:"),
            f"/experiments/compare?baseline={b}&others={o}&filter=worse": (400, "filter:"),
            f"/experiments/compare?baseline={b}&others={o}&filter=regressed&score=nope": (400, "score:"),
            f"/experiments/compare?baseline={b}&others={o}&filter=regressed&run_id={n}": (400, "run_id:"),
            f"/experiments/compare?baseline={b}&others={o}&page=0": (400, "page:"),
            f"/experiments/compare?baseline={b}&others={o}&page=2": (400, "page:"),
            f"/experiments/compare?baseline=nope&others={o}": (404, "baseline:"),
            f"/experiments/compare?baseline={b}&others={o},nope": (404, "others:"),
        }
        for path, (status, field) in cases.items():
            r = await client.get(path)
            assert r.status_code == status, (path, r.status_code)
            assert field in r.text and "<h1>" in r.text, (path, r.text[:300])  # an HTML page naming it
    finally:
        client.cookies.clear()
    # Another project's viewer: the same ids are unknown there.
    other = await make_project(storage)
    email, password = await make_user(storage, other, Role.VIEWER)
    await login(client, email, password)
    try:
        forget_comparisons()
        r = await client.get(f"/experiments/compare?baseline={runs['baseline']}&others={runs['better']}")
        assert r.status_code == 404 and "baseline:" in r.text
    finally:
        client.cookies.clear()
