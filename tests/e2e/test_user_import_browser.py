"""The CSV import of users in the console, in headless Chromium against `python -m idp_local` (contract section
10): Users → "Import users" → "CSV file" → "Preview" (the table: row, action, errors) → "Confirm import" → the
status page, which refreshes itself until the import job (the local stack's ImportJobFunction, fed by its queue)
is done; then the users are in the directory. By labels and button texts, as an administrator would."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from idp_testing.console_browser import ADMIN, new_page, shot, sign_in
from idp_testing.stack import start_stack, stop_stack

pytestmark = pytest.mark.e2e

CSV = ("username,email,firstname,lastname,department\n"
       "imported1,imported1@example.com,Ida,One,Eng\n"
       "imported2,not-an-email,Ida,Two,Eng\n"
       "imported3,imported3@example.com,Ida,Three,Sales\n")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = start_stack(tmp_path_factory.mktemp("import-stack"), demo=True, standin=False)
    yield running
    stop_stack(running)


def test_an_administrator_imports_users_from_a_csv_file(stack, browser):
    page = new_page(browser)
    sign_in(page, stack, ADMIN, start="/console/users")
    page.wait_for_url(f"{stack.base_url}/console/users")
    page.get_by_role("link", name="Import users").click()
    expect(page.get_by_role("heading", name="Import users")).to_be_visible()

    # no file: the error sits next to the field
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#file-error")).to_contain_text("Choose a CSV file")

    page.get_by_label("CSV file").set_input_files(files=[{"name": "users.csv", "mimeType": "text/csv",
                                                          "buffer": CSV.encode()}])
    page.get_by_role("button", name="Preview").click()
    table = page.get_by_role("table", name="Preview")
    expect(table.locator('[data-testid="import-row"][data-row="2"]')).to_contain_text("create")
    expect(table.locator('[data-testid="import-row"][data-row="3"]')).to_contain_text("email:")
    expect(table.locator('[data-testid="import-row"][data-row="4"]')).to_contain_text("create")
    expect(page.get_by_test_id("import-summary")).to_contain_text("2 to create")
    shot(page, "import_preview")
    users = requests.get(f"{stack.base_url}/admin/users", params={"limit": 200},
                         headers={"Authorization": f"Bearer {stack.admin_token}"}, timeout=10).json()["items"]
    assert "imported1" not in {u["username"] for u in users}  # the preview wrote nothing

    page.get_by_role("button", name="Confirm import").click()
    page.wait_for_url(f"{stack.base_url}/console/imports/users/*")
    expect(page.get_by_test_id("import-status")).to_have_text("done", timeout=30_000)  # the page refreshes itself
    expect(page.get_by_test_id("import-applied")).to_contain_text("2 of 2")
    shot(page, "import_done")
    page.get_by_role("link", name="Back to users").click()
    expect(page.locator('[data-testid="user-row"][data-username="imported1"]')).to_be_visible()
    expect(page.locator('[data-testid="user-row"][data-username="imported3"]')).to_be_visible()
