"""Opening the dashboard in a browser: a key holder mints a signed link; the link alone opens only that dashboard."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs

from functions.authorizer.app import LINK_CSV_ROUTES, REPORTS
from ordertrail_local.template import load_template
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


def test_a_link_opens_nothing_but_the_dashboard_and_its_downloads(pipeline):
    """Given a valid link, when it is sent to a report as JSON or to another team route, then 401: a link opens the page
    and the CSV of the reports it draws (its "Download data" links), never the JSON API."""
    token = team_call(pipeline, "POST", "acme", "dashboard/links").json()["path"].split("link=")[1]
    assert pipeline.call("GET", "/v1/acme/reports/posts", query=f"link={token}").status == 401
    assert pipeline.call("GET", "/v1/acme/reports/posts", query=f"link={token}&format=json").status == 401
    assert pipeline.call("GET", "/v1/acme/settings", query=f"link={token}&format=csv").status == 401
    assert pipeline.call("GET", "/v1/acme/exports/customers.csv", query=f"link={token}").status == 401
    download = pipeline.call("GET", "/v1/acme/reports/posts", query=f"link={token}&format=csv")
    assert download.status == 200, download.body
    assert download.body.decode().startswith('"post_id"')


def test_every_report_route_in_the_template_is_one_a_link_downloads(pipeline):
    """Given the template's GET /reports/* routes, then each is one whose CSV a dashboard link opens (none forgotten)."""
    resources = load_template()["Resources"].values()
    events = [event for resource in resources for event in resource.get("Properties", {}).get("Events", {}).values()]
    routes = {f"{e['Properties']['Method'].upper()} {e['Properties']['Path']}" for e in events if e["Type"] == "HttpApi"}
    assert {route for route in routes if route.startswith("GET /v1/{tenant}/reports/")} == set(LINK_CSV_ROUTES)


def test_a_link_lives_at_most_a_day(pipeline):
    """Given hours=25, then 422 names `hours`."""
    response = team_call(pipeline, "POST", "acme", "dashboard/links", query="hours=25")
    assert response.status == 422
    assert response.json()["error"]["field"] == "hours"


def test_each_section_links_its_csv_and_each_link_opens_with_the_pages_link(pipeline):
    """Given the page opened with a signed link, when each "Download data" link is followed with no key, then every one
    is a CSV (each table of each section's report), and the ranked ones ask for every row over the section's days."""
    path, _, query = team_call(pipeline, "POST", "acme", "dashboard/links").json()["path"].partition("?")
    page = pipeline.call("GET", path, query=query).body.decode()
    hrefs = [html.unescape(href) for href in re.findall(r'<a href="(reports/[^"]+)" download>', page)]
    tables = {(href.split("?")[0], parse_qs(href.split("?")[1])["table"][0]) for href in hrefs}
    assert {report for report, _ in tables} == {f"reports/{name}" for name in REPORTS if name != "coupons"}  # no coupons section
    assert ("reports/flows", "steps") in tables and ("reports/insights", "totals") in tables
    for href in hrefs:
        rest, _, params = href.partition("?")
        assert parse_qs(params)["link"] == [query.removeprefix("link=")]
        download = pipeline.call("GET", f"/v1/acme/{rest}", query=params)
        assert download.status == 200, (href, download.body)
        assert {k.lower(): v for k, v in download.headers.items()}["content-type"].startswith("text/csv")
    assert "limit=1000" in next(href for href in hrefs if href.startswith("reports/posts"))
