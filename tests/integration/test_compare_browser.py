"""In Chromium, against a first-started `langhouse serve` with two SDK runs over one dataset: the runs tab
picks both runs and a baseline → the compare view draws its figures, names the better run significant and
shows a hostile output as text; at laptop and phone width, without console errors or horizontal overflow.
Screenshots are saved as test artifacts."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.integration.test_browser import ARTIFACTS, CHROMIUM_ARGS, LAPTOP, PHONE
from tests.integration.test_serve import Server, start, stop, wait_healthy

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium is not installed"),
]

DATASET = "compare-quiz"
N = 20
XSS = "<img src=x onerror=alert(1)>"


def _seed(base_url: str, public_key: str, secret_key: str) -> dict[str, str]:
    """A dataset of N items and two runs over it: `base` (right on even items) and `better` (right on
    all but item 1, whose output is hostile markup); the experiment ids by run name."""
    from langfuse import Evaluation, Langfuse

    lf = Langfuse(public_key=public_key, secret_key=secret_key, base_url=base_url)
    try:
        lf.create_dataset(name=DATASET)
        for i in range(N):
            lf.create_dataset_item(dataset_name=DATASET, input=f"q{i}", expected_output=f"A{i}", id=f"q-{i}")
        dataset = lf.get_dataset(DATASET)

        def exact(*, output: Any, expected_output: Any, **_: Any) -> Any:
            return Evaluation(name="exact", value=output == expected_output, data_type="BOOLEAN")

        def score(*, output: Any, expected_output: Any, **_: Any) -> Any:
            return Evaluation(name="score", value=1.0 if output == expected_output else 0.2)

        tasks = {
            "base": lambda *, item, **_: item.expected_output if int(item.input[1:]) % 2 == 0 else "no idea",
            "better": lambda *, item, **_: XSS if item.input == "q1" else item.expected_output,
        }
        return {
            name: str(
                dataset.run_experiment(
                    name="quiz", run_name=name, task=task, evaluators=[exact, score]
                ).experiment_id
            )
            for name, task in tasks.items()
        }
    finally:
        lf.shutdown()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str, str, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("compare-browser")
    ARTIFACTS.mkdir(exist_ok=True)
    s = start(tmp / "data", free_port(), tmp / "serve.log")
    try:
        wait_healthy(s)
        out = s.output()
        keys = ("Email", "Password", "Public key", "Secret key")
        found = {k: re.search(rf"{k}\s+(\S+)", out) for k in keys}
        creds = {k: m[1] for k, m in found.items() if m}
        assert len(creds) == 4, out
        ids = _seed(s.base_url, creds["Public key"], creds["Secret key"])
        auth = (creds["Public key"], creds["Secret key"])
        for _ in range(240):  # the worker writes the runs and their scores within moments
            items = httpx.get(
                f"{s.base_url}/api/public/v2/scores", params={"limit": 100, "name": "exact"}, auth=auth
            ).json()
            if len(items.get("data", [])) == 2 * N:
                break
            time.sleep(0.25)
        else:
            raise AssertionError("the runs' scores never appeared")
        yield s, creds["Email"], creds["Password"], ids
    finally:
        stop(s)


def test_pick_runs_and_compare_them_in_chromium(seeded: tuple[Server, str, str, dict[str, str]]) -> None:
    from playwright.sync_api import sync_playwright

    site, email, password, ids = seeded
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=LAPTOP)
            page = context.new_page()
            errors: list[str] = []
            dialogs: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(f"{site.base_url}/login")
            page.fill("input[name=email]", email)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")

            page.goto(f"{site.base_url}/datasets")
            page.click(f"a:has-text('{DATASET}')")
            page.wait_for_url(re.compile(r"/datasets/[0-9a-f]+$"))
            page.click("nav.tabs a:has-text('Runs')")
            page.wait_for_url(re.compile(r"/runs$"))
            for run_id in ids.values():
                page.check(f"input[name=others][value='{run_id}']")
            page.check(f"input[name=baseline][value='{ids['base']}']")
            page.screenshot(path=str(ARTIFACTS / "dataset-runs-compare-pick.png"), full_page=True)
            page.click("#compare-runs")
            page.wait_for_url(re.compile(r"/experiments/compare\?"))
            page.wait_for_function(
                "[...document.querySelectorAll('script[data-for]')]"
                ".every(s => document.getElementById(s.dataset.for).querySelector('.main-svg'))",
                timeout=20000,
            )
            assert page.inner_text("h1") == "Compare runs"
            verdicts = page.locator("table[data-metric=exact] td.verdict").all_inner_texts()
            assert [v.strip() for v in verdicts] == ["", "significant: higher"]
            assert page.locator("article.item").count() == N
            hostile = page.locator("article.item[data-item='q-1'] .cell:not(.baseline) .text-diff").first
            assert XSS in hostile.inner_text()  # shown as text, never run
            assert page.locator("article.item img").count() == 0 and dialogs == []
            page.select_option("select[name=filter]", "improved")
            page.click(".item-filters button[type=submit]")
            page.wait_for_url(re.compile(r"filter=improved"))
            assert page.locator("article.item").count() == N // 2 - 1  # odd items, not the hostile one
            assert errors == []

            for viewport, name in ((LAPTOP, "laptop"), (PHONE, "phone")):
                page.set_viewport_size(viewport)
                response: Any = page.goto(
                    f"{site.base_url}/experiments/compare?baseline={ids['base']}&others={ids['better']}"
                )
                assert response is not None and response.status == 200
                page.wait_for_function(
                    "[...document.querySelectorAll('script[data-for]')]"
                    ".every(s => document.getElementById(s.dataset.for).querySelector('.main-svg'))",
                    timeout=20000,
                )
                page.screenshot(path=str(ARTIFACTS / f"compare-{name}.png"), full_page=True)
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= viewport["width"] + 1, f"{width} px wide at {viewport['width']}"
            assert errors == [] and dialogs == []
            context.close()
        finally:
            browser.close()
