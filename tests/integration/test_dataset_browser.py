"""In Chromium, against a first-started `langhouse serve`: datasets list → a new dataset → import a small
CSV with a column mapping → the progress bar reaches done → the items are listed; at laptop and phone
width, without console errors or horizontal overflow. Screenshots are saved as test artifacts."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tests.integration.test_browser import ARTIFACTS, CHROMIUM_ARGS, LAPTOP, PHONE
from tests.integration.test_serve import Server, start, stop, wait_healthy

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium is not installed"),
]

CSV = (
    "question,answer,topic,difficulty\n"
    "What is 2+2?,4,math,easy\n"
    "Capital of France?,Paris,geography,easy\n"
    ",missing input,none,hard\n"
    "Boiling point of water?,100 °C,physics,medium\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str, str]]:
    tmp = tmp_path_factory.mktemp("dataset-browser")
    ARTIFACTS.mkdir(exist_ok=True)
    s = start(tmp / "data", free_port(), tmp / "serve.log")
    try:
        wait_healthy(s)
        out = s.output()
        email, password = (re.search(rf"{k}\s+(\S+)", out) for k in ("Email", "Password"))
        assert email and password, out
        yield s, email[1], password[1]
    finally:
        stop(s)


def test_import_a_csv_into_a_dataset_in_chromium(server: tuple[Server, str, str], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    site, email, password = server
    source = tmp_path / "questions.csv"
    source.write_text(CSV, encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=LAPTOP)
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{site.base_url}/login")
            page.fill("input[name=email]", email)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")

            page.click("nav.links a[href='/datasets']")
            page.wait_for_url(f"{site.base_url}/datasets")
            assert "No datasets yet" in page.inner_text("table.datasets")
            page.fill("#new-dataset input[name=name]", "quiz")
            page.fill("#new-dataset input[name=description]", "General knowledge")
            page.click("#new-dataset button[type=submit]")
            page.wait_for_url(re.compile(r"/datasets/[0-9a-f]+$"))
            dataset_url = page.url
            assert page.inner_text("h1") == "quiz"

            page.click("#import")
            page.set_input_files("input[type=file]", str(source))
            page.click("#upload-form button[type=submit]")
            page.wait_for_selector("#mapping-form")
            assert page.locator("table.preview tbody tr").count() == 4
            page.screenshot(path=str(ARTIFACTS / "dataset-import-mapping.png"), full_page=True)
            # The guess ticks question → input and answer → expected output; add two metadata columns.
            assert page.is_checked("input[name=input][value=question]")
            assert page.is_checked("input[name=expected_output][value=answer]")
            page.check("input[name=metadata][value=topic]")
            page.check("input[name=metadata][value=difficulty]")
            page.click("#start-import")
            page.wait_for_selector("#import-progress[data-state=done]", timeout=30000)
            assert page.get_attribute("#import-bar", "value") == "100"
            assert page.inner_text("#imported-count") == "3" and page.inner_text("#bad-count") == "1"
            assert "input is empty" in page.inner_text("table.bad-rows")
            assert page.inner_text("table.bad-rows td") == "4"  # the line of the bad row
            page.screenshot(path=str(ARTIFACTS / "dataset-import-done.png"), full_page=True)

            page.click("#to-items")
            page.wait_for_url(dataset_url)
            rows = page.locator("table.items tbody tr")
            assert rows.count() == 3
            assert "Capital of France?" in page.inner_text("table.items")
            page.screenshot(path=str(ARTIFACTS / "dataset.png"), full_page=True)
            page.locator("table.items tbody tr a").first.click()
            page.wait_for_url(re.compile(r"/dataset-items/"))
            assert "topic" in page.input_value("#field-metadata")
            page.screenshot(path=str(ARTIFACTS / "dataset-item.png"), full_page=True)
            assert errors == []

            for viewport, name in ((LAPTOP, "laptop"), (PHONE, "phone")):
                page.set_viewport_size(viewport)
                for path, artifact in ((dataset_url, "dataset"), (f"{site.base_url}/datasets", "datasets")):
                    response: Any = page.goto(path)
                    assert response is not None and response.status == 200
                    page.screenshot(path=str(ARTIFACTS / f"{artifact}-{name}.png"), full_page=True)
                    width = page.evaluate("document.documentElement.scrollWidth")
                    assert width <= viewport["width"] + 1, f"{path} is {width} px wide at {viewport['width']}"
            assert errors == []
            context.close()
        finally:
            browser.close()
