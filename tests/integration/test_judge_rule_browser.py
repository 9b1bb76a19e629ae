"""In Chromium: the rule form's live preview (htmx) shows the mapped values of a chosen observation, and
a rule built in the form (filter row, evaluator, mapping) is saved and listed."""

from __future__ import annotations

import shutil
from typing import Any

import httpx
import pytest

from tests.integration.test_browser import (
    ARTIFACTS,
    PHONE,
    Opener,
    Site,
    browser,
    login_state,
    open_page,
    site,
)

__all__ = ["browser", "login_state", "open_page", "site"]  # the fixtures this module uses

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium is not installed"),
]


def test_rule_form_previews_mapped_values_and_saves(
    site: Site, login_state: dict[str, Any], open_page: Opener
) -> None:
    made = httpx.post(
        f"{site.url}/api/public/v2/evaluators",
        json={
            "type": "llm_as_judge",
            "name": "answer-check",
            "prompt": "Question: {{question}} Answer: {{answer}}",
            "outputDefinition": {"dataType": "BOOLEAN"},
        },
        headers=site.api_headers,
    )
    assert made.status_code == 201, made.text
    evaluator_id = made.json()["id"]
    page, errors = open_page(login_state)
    page.goto(f"{site.url}/evaluation/rules/new")
    page.fill("input[name=name]", "llm answers")
    page.select_option("select[name=f_column] >> nth=0", "name")
    page.select_option("select[name=f_operator] >> nth=0", "any of")
    page.fill("input[name=f_value] >> nth=0", "llm")
    page.check(f"input[name=evaluator][value='{evaluator_id}']")
    page.select_option(f"select[name='map:{evaluator_id}:question:source']", "input")
    page.fill(f"input[name='map:{evaluator_id}:question:path']", "$[0].content")
    page.select_option(f"select[name='map:{evaluator_id}:answer:source']", "output")
    page.fill(f"input[name='map:{evaluator_id}:answer:path']", "$.content")
    page.fill("input[name=preview_observation]", "b-t01-gen")
    page.click("#preview-card button")
    page.wait_for_selector("#rule-preview table.mapping-preview")
    preview = page.inner_text("#rule-preview")
    assert "Question number 1 about refunds" in preview and "answer 1" in preview
    page.screenshot(path=str(ARTIFACTS / "rule-form.png"), full_page=True)
    page.select_option(f"select[name='map:{evaluator_id}:answer:source']", "input")  # the preview follows
    page.wait_for_function("!document.querySelector('#rule-preview').innerText.includes('answer 1')")
    page.click("#rule-form button[type=submit]")
    page.wait_for_url(f"{site.url}/evaluation/rules/*")
    rule_path = page.url.replace(site.url, "")
    page.goto(f"{site.url}/evaluation/rules")
    assert "llm answers" in page.inner_text("table.rules") and "answer-check" in page.inner_text(
        "table.rules"
    )
    page.screenshot(path=str(ARTIFACTS / "rules.png"), full_page=True)
    assert errors == []
    phone, phone_errors = open_page(login_state, PHONE)
    for path in ("/evaluation/rules", "/evaluation/rules/new", rule_path):
        phone.goto(f"{site.url}{path}")
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1, path
    assert phone_errors == []
