"""Opening the dashboard in a browser: a key holder mints a signed link; the link alone opens only that dashboard."""

from __future__ import annotations

from tests.integration.senders import team_call


def test_a_minted_link_opens_the_dashboard_without_a_key(pipeline):
    """Given acme's key, when a link is minted, then GET of its path with no Authorization header is the HTML page."""
    minted = team_call(pipeline, "POST", "acme", "dashboard/links", query="hours=2")
    assert minted.status == 201, minted.body
    path, _, query = minted.json()["path"].partition("?")
    page = pipeline.call("GET", path, query=query)
    assert page.status == 200, page.body
    assert page.body.decode().lstrip().lower().startswith("<!doctype html>")


def test_without_a_key_or_a_valid_link_the_dashboard_is_401(pipeline):
    """Given no key, a tampered link, or acme's link on globex's path, then 401 (nothing is shown)."""
    token = team_call(pipeline, "POST", "acme", "dashboard/links").json()["path"].split("link=")[1]
    # Flip the last hex digit to a different one, so the tampered link never equals the real one by chance.
    tampered = token[:-1] + ("1" if token.endswith("0") else "0")
    assert pipeline.call("GET", "/v1/acme/dashboard").status == 401
    assert pipeline.call("GET", "/v1/acme/dashboard", query=f"link={tampered}").status == 401
    assert pipeline.call("GET", "/v1/globex/dashboard", query=f"link={token}").status == 401


def test_a_link_opens_nothing_but_the_dashboard(pipeline):
    """Given a valid link, when it is sent to a report, then 401: links are for the dashboard page only."""
    token = team_call(pipeline, "POST", "acme", "dashboard/links").json()["path"].split("link=")[1]
    assert pipeline.call("GET", "/v1/acme/reports/posts", query=f"link={token}").status == 401


def test_a_link_lives_at_most_a_day(pipeline):
    """Given hours=25, then 422 names `hours`."""
    response = team_call(pipeline, "POST", "acme", "dashboard/links", query="hours=25")
    assert response.status == 422
    assert response.json()["error"]["field"] == "hours"
