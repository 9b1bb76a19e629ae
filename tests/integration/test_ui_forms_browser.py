"""In Chromium at laptop and phone widths: a refused form comes back with the error beside its field, the
focus on it and everything else as typed (then a good value is accepted); a destructive button first asks,
and nothing is deleted until the second button. Screenshots are saved as test artifacts."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.test_browser import (
    ARTIFACTS,
    LAPTOP,
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
WIDTHS = {"laptop": LAPTOP, "phone": PHONE}
REFUSED = "the server responded with a status of 4"  # the browser logs a refused form's 400 on purpose


def _fits(page: Any, width: int, what: str) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width + 1, f"{what} is {scroll} px wide at {width}"


def _no_errors(errors: list[str]) -> None:
    assert [e for e in errors if REFUSED not in e] == [], errors


def _submit(page: Any, click: Callable[[], None]) -> int:
    """Submit a form by `click`; the status of the page that answered (a redirect's target: 200)."""
    with page.expect_navigation() as navigation:
        click()
    response = navigation.value
    assert response is not None
    return int(response.status)


def _refused(page: Any, field: str, message: str, width: int, shot: str) -> None:
    """The page shows `message` beside `field`, linked to it, with the focus on the field."""
    error = page.locator(f"#{field}-error")
    assert error.is_visible() and error.inner_text().startswith(message), error.all_inner_texts()
    control = page.locator(f"[name={field}][aria-invalid=true]")
    assert control.get_attribute("aria-describedby") == f"{field}-error"
    assert page.evaluate("document.activeElement.name") == field  # focused (and scrolled to)
    box, below = control.bounding_box(), error.bounding_box()
    assert box and below and 0 <= below["y"] - (box["y"] + box["height"]) < 40  # right under the field
    assert below["x"] < box["x"] + box["width"] and box["x"] < below["x"] + below["width"]
    page.screenshot(path=str(ARTIFACTS / f"forms-{shot}.png"), full_page=True)
    _fits(page, width, shot)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_refused_forms_keep_what_was_typed_beside_their_errors(
    site: Site, open_page: Opener, login_state: dict[str, Any], width: str
) -> None:
    viewport = WIDTHS[width]
    page, errors = open_page(login_state, viewport)

    page.goto(f"{site.url}/settings/models")
    page.fill("input[name=model_name]", f"acme-{width}")
    page.fill("input[name=match_pattern]", f"(?i)^acme-{width}$")
    page.fill("input[name=input_price]", "cheap")
    page.fill("input[name=output_price]", "0.000002")
    assert _submit(page, lambda: page.click("text=Add model")) == 400
    _refused(
        page, "input_price", "Input price must be a non-negative number", viewport["width"], f"models-{width}"
    )
    assert page.input_value("input[name=model_name]") == f"acme-{width}"
    assert page.input_value("input[name=match_pattern]") == f"(?i)^acme-{width}$"
    assert page.input_value("input[name=output_price]") == "0.000002"
    assert page.input_value("input[name=input_price]") == "cheap"
    page.fill("input[name=input_price]", "0.000001")
    assert _submit(page, lambda: page.click("text=Add model")) == 200
    assert page.locator(f"td:text-is('acme-{width}')").count() == 1

    page.goto(f"{site.url}/settings/llm-connections")
    form = "#new-connection"
    page.fill(f"{form} input[name=name]", f"llm-{width}")
    page.fill(f"{form} input[name=base_url]", "ftp://example.com/v1")
    page.fill(f"{form} input[name=models]", "m1, m2")
    page.fill(f"{form} input[name=api_key]", "sk-test-1234567890")
    assert _submit(page, lambda: page.click("text=Add connection")) == 400
    _refused(
        page, "base_url", "Base URL must be an http(s) URL", viewport["width"], f"llm-connection-{width}"
    )
    assert page.input_value(f"{form} input[name=name]") == f"llm-{width}"
    assert page.input_value(f"{form} input[name=models]") == "m1, m2"
    assert page.input_value(f"{form} input[name=api_key]") == ""  # a secret is never sent back
    page.fill(f"{form} input[name=models]", " , ")  # a missing value the browser lets through
    page.fill(f"{form} input[name=base_url]", "https://example.com/v1")
    page.fill(f"{form} input[name=api_key]", "sk-test-1234567890")
    assert _submit(page, lambda: page.click("text=Add connection")) == 400
    _refused(page, "models", "Models must list", viewport["width"], f"llm-connection-missing-{width}")
    page.fill(f"{form} input[name=models]", "m1")
    page.fill(f"{form} input[name=api_key]", "sk-test-1234567890")
    assert _submit(page, lambda: page.click("text=Add connection")) == 200
    assert page.locator(f"td:text-is('llm-{width}')").count() == 1

    page.goto(f"{site.url}/dashboards")
    page.fill("input[name=name]", f"Forms {width}")
    assert _submit(page, lambda: page.click("text=Create dashboard")) == 200
    adding = ".widget-form >> nth=-1"  # the add form is the last one on the page
    page.fill(f"{adding} >> input[name=title]", "Latency of scores")
    page.select_option(f"{adding} >> select[name=view]", "SCORES")
    page.select_option(f"{adding} >> select[name=measure]", "LATENCY")
    page.select_option(f"{adding} >> select[name=aggregation]", "AVG")
    page.select_option(f"{adding} >> select[name=chart]", "line")
    assert _submit(page, lambda: page.click("text=Add widget")) == 400
    _refused(
        page,
        "measure",
        "Measure LATENCY is not available on view SCORES",
        viewport["width"],
        f"widget-{width}",
    )
    assert page.input_value(f"{adding} >> input[name=title]") == "Latency of scores"
    assert page.input_value(f"{adding} >> select[name=view]") == "SCORES"
    assert page.input_value(f"{adding} >> select[name=chart]") == "line"
    page.select_option(f"{adding} >> select[name=measure]", "VALUE")
    assert _submit(page, lambda: page.click("text=Add widget")) == 200
    assert page.locator("#chart-w0").count() == 1

    page.goto(f"{site.url}/prompts/new")
    page.fill("input[name=name]", f"forms/{width}")
    page.check("input[name=mode][value=text]")
    page.fill("textarea[name=text]", "Hello {{name}}")
    page.fill("textarea[name=config]", '{"temperature": 0.2')
    page.fill("input[name=commit_message]", "first try")
    assert _submit(page, lambda: page.click("#save-prompt")) == 400
    _refused(page, "config", "Config must be JSON", viewport["width"], f"prompt-{width}")
    assert page.input_value("input[name=name]") == f"forms/{width}"
    assert page.input_value("textarea[name=text]") == "Hello {{name}}"
    assert page.input_value("input[name=commit_message]") == "first try"
    page.fill("textarea[name=config]", '{"temperature": 0.2}')
    assert _submit(page, lambda: page.click("#save-prompt")) == 200
    assert page.url.endswith(f"/prompts/forms/{width}?version=1")

    page.goto(f"{site.url}/settings/invitations")
    page.eval_on_selector("#invite-form", "f => f.noValidate = true")  # past the browser's own check
    page.fill("input[name=email]", "not-an-address")
    page.select_option("select[name=role]", "viewer")
    assert _submit(page, lambda: page.click("button:text('Invite')")) == 400
    _refused(page, "email", "Email must be an address", viewport["width"], f"invitation-{width}")
    assert page.input_value("select[name=role]") == "viewer"
    page.fill("input[name=email]", f"invitee-{width}@example.com")
    assert _submit(page, lambda: page.click("button:text('Invite')")) == 200
    assert "/invite/" in page.inner_text("#invite-link")

    page.goto(f"{site.url}/settings/members")
    page.fill("input[name=email]", f"ghost-{width}@example.com")
    assert _submit(page, lambda: page.click("text=Set role")) == 404
    _refused(page, "email", "No user", viewport["width"], f"members-{width}")
    assert page.input_value("input[name=email]") == f"ghost-{width}@example.com"
    _no_errors(errors)

    outside, out_errors = open_page(None, viewport)  # the login form stays as it was
    outside.goto(f"{site.url}/login")
    outside.fill("input[name=email]", site.email)
    outside.fill("input[name=password]", "wrong password")
    assert _submit(outside, lambda: outside.click("button[type=submit]")) == 401
    assert "Wrong email or password" in outside.inner_text("[role=alert]")
    assert outside.input_value("input[name=email]") == site.email
    outside.screenshot(path=str(ARTIFACTS / f"forms-login-{width}.png"))
    _fits(outside, viewport["width"], "login")
    _no_errors(out_errors)


def _asks_then_does(page: Any, scope: str, button: str, shot: str, width: int, present: str) -> None:
    """Click `button` in `scope`: a question shows, nothing is posted and the server still has `present`
    on this page; the second button then does it."""
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    confirm = page.locator(f"{scope} details.confirm:has(summary:text-is('{button}'))")
    confirm.locator("summary").click()
    question = confirm.locator("form p")
    assert question.is_visible() and "?" in question.inner_text()
    assert posted == [] and present in page.request.get(page.url).text()  # nothing done yet
    confirm.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"confirm-{shot}.png"), full_page=True)
    _fits(page, width, shot)
    assert _submit(page, lambda: confirm.locator(f"button:text-is('Yes, {button.lower()}')").click()) == 200
    assert len(posted) == 1


@pytest.mark.parametrize("width", list(WIDTHS))
def test_destructive_actions_ask_before_they_act(
    site: Site, open_page: Opener, login_state: dict[str, Any], width: str
) -> None:
    viewport = WIDTHS[width]
    page, errors = open_page(login_state, viewport)
    w = viewport["width"]

    page.goto(f"{site.url}/settings/models")
    page.fill("input[name=model_name]", f"doomed-{width}")
    page.fill("input[name=match_pattern]", f"^doomed-{width}$")
    page.fill("input[name=input_price]", "1")
    _submit(page, lambda: page.click("text=Add model"))
    row = f"tr:has(td:text-is('doomed-{width}'))"
    _asks_then_does(page, row, "Delete", f"model-{width}", w, f"doomed-{width}")
    assert page.locator(row).count() == 0

    page.goto(f"{site.url}/settings/api-keys")
    page.fill("input[name=note]", f"temporary {width}")
    _submit(page, lambda: page.click("text=Create API key"))
    row = f"tr:has(td:text-is('temporary {width}'))"
    _asks_then_does(page, row, "Revoke", f"api-key-{width}", w, f"temporary {width}")
    assert page.locator(f"{row} td:has-text('revoked')").count() == 1

    page.goto(f"{site.url}/settings/llm-connections")
    form = "#new-connection"
    page.fill(f"{form} input[name=name]", f"doomed-llm-{width}")
    page.fill(f"{form} input[name=models]", "m1")
    page.fill(f"{form} input[name=api_key]", "sk-test-1234567890")
    _submit(page, lambda: page.click("text=Add connection"))
    row = f"tr:has(td:text-is('doomed-llm-{width}'))"
    _asks_then_does(page, row, "Delete", f"llm-connection-{width}", w, f"doomed-llm-{width}")
    assert page.locator(row).count() == 0

    page.goto(f"{site.url}/settings/invitations")
    page.fill("input[name=email]", f"maybe-{width}@example.com")
    _submit(page, lambda: page.click("button:text('Invite')"))
    row = f"tr:has(td:text-is('maybe-{width}@example.com'))"
    _asks_then_does(page, row, "Revoke", f"invitation-{width}", w, f"maybe-{width}@example.com")
    assert page.locator(row).count() == 0

    page.goto(f"{site.url}/dashboards")
    page.fill("input[name=name]", f"Doomed {width}")
    _submit(page, lambda: page.click("text=Create dashboard"))
    board = page.url
    page.fill(".widget-form >> nth=-1 >> input[name=title]", "Soon gone")
    _submit(page, lambda: page.click("text=Add widget"))
    assert page.locator(".widget").count() == 1
    _asks_then_does(page, ".widget", "Remove widget", f"widget-{width}", w, "Soon gone")
    assert page.locator(".widget").count() == 0 and page.url == board
    _asks_then_does(page, "main", "Delete dashboard", f"dashboard-{width}", w, f"Doomed {width}")
    assert page.url == f"{site.url}/dashboards" and page.locator(f"a:text-is('Doomed {width}')").count() == 0
    _no_errors(errors)
