"""Cursor pagination and filters on the API's lists: stable order, no gaps, no repeats, other merchants' ids refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.api.conftest import invoice_body


def _walk(api, path: str, limit: int) -> list[dict]:
    """Follow starting_after from the first page to the last."""
    seen, cursor = [], None
    sep = "&" if "?" in path else "?"
    while True:
        page = api.get(f"{path}{sep}limit={limit}" + (f"&starting_after={cursor}" if cursor else ""))
        assert page.status_code == 200, page.json
        seen += page.json["data"]
        if not page.json["has_more"]:
            return seen
        cursor = page.json["data"][-1]["id"]


@pytest.fixture
def many(api, customer_id, time_machine):
    """Eight invoices over four issue dates (two each), created a day apart, plus a second customer's one."""
    ids = []
    for n in range(8):
        time_machine.move_to(datetime(2026, 1, 1 + n, 9, tzinfo=UTC), tick=False)
        day = f"2026-01-{(n % 4) + 1:02d}"
        created = api.post("/invoices", invoice_body(customer_id, issue_date=day, due_date=f"2026-02-{n + 1:02d}"))
        ids.append(created.json["id"])
    time_machine.move_to(datetime(2026, 1, 20, 9, tzinfo=UTC), tick=False)
    other = api.post("/customers", {"name": "Zed Quist", "email": "zed@quist.example"}).json
    ids.append(api.post("/invoices", invoice_body(other["id"], issue_date="2026-01-02")).json["id"])
    return ids, other["id"]


def test_pages_follow_each_other_in_a_stable_order(api, many):
    everything = api.get("/invoices?limit=100").json["data"]
    assert len(everything) == 9
    keys = [(row["issue_date"], row["id"]) for row in everything]
    assert keys == sorted(keys, reverse=True)
    for limit in (1, 2, 4, 9):
        assert [row["id"] for row in _walk(api, "/invoices", limit)] == [row["id"] for row in everything]
    # ending_before walks back: the page before the third page is the second.
    pages = [api.get("/invoices?limit=3").json]
    pages.append(api.get(f"/invoices?limit=3&starting_after={pages[0]['data'][-1]['id']}").json)
    pages.append(api.get(f"/invoices?limit=3&starting_after={pages[1]['data'][-1]['id']}").json)
    assert pages[2]["has_more"] is False
    back = api.get(f"/invoices?limit=3&ending_before={pages[2]['data'][0]['id']}").json
    assert back == {**pages[1], "has_more": True}
    first = api.get(f"/invoices?limit=3&ending_before={pages[1]['data'][0]['id']}").json
    assert first["data"] == pages[0]["data"] and first["has_more"] is False


def test_filters(api, many, customer_id):
    ids, other_id = many

    def listed(query: str) -> set[int]:
        answer = api.get(f"/invoices?limit=100&{query}")
        assert answer.status_code == 200, answer.json
        return {row["id"] for row in answer.json["data"]}

    assert listed("issue_date[gte]=2026-01-03") == {ids[2], ids[3], ids[6], ids[7]}
    assert listed("issue_date[gte]=2026-01-02&issue_date[lte]=2026-01-02") == {ids[1], ids[5], ids[8]}
    assert listed("due_date[lte]=2026-02-02") == {ids[0], ids[1], ids[8]}  # the last one is due 2026-01-31
    assert listed("due_date[gte]=2026-02-08") == {ids[7]}
    assert listed("created[gte]=2026-01-07T00:00:00Z") == {ids[6], ids[7], ids[8]}
    unix = int(datetime(2026, 1, 2, 9, tzinfo=UTC).timestamp())
    assert listed(f"created[lte]={unix}") == {ids[0], ids[1]}
    assert listed(f"customer_id={other_id}") == {ids[8]}
    assert listed("q=quist") == {ids[8]} == listed("q=ZED@")
    assert listed("q=jane") == set(ids[:8])
    assert listed("status=open") == set()
    assert listed("status=draft") == set(ids)


def test_updated_since_and_number_search(api, many, time_machine):
    ids, _ = many
    time_machine.move_to(datetime(2026, 3, 1, 12, tzinfo=UTC), tick=False)
    finalized = api.post(f"/invoices/{ids[3]}/finalize").json
    listed = api.get("/invoices?updated_since=2026-03-01T00:00:00Z").json["data"]
    assert [row["id"] for row in listed] == [ids[3]]
    assert [row["id"] for row in api.get(f"/invoices?q={finalized['number']}").json["data"]] == [ids[3]]
    overdue = api.get("/invoices?status=overdue").json["data"]
    assert [row["id"] for row in overdue] == [ids[3]]


@pytest.mark.parametrize(
    "query",
    [
        "limit=101",
        "limit=0",
        "starting_after=1&ending_before=2",
        "offset=2&starting_after=1",
        "created[gte]=yesterday",
        "issue_date[gte]=2026-13-01",
        "updated_since=2026-01-01T25:00:00Z",
        "status=late",
        "created_gte=1",
    ],
)
def test_bad_list_parameters_are_422(api, query):
    answer = api.get(f"/invoices?{query}")
    assert answer.status_code == 422, answer.json
    assert answer.json["error"]["code"] == "invalid"


def test_a_cursor_must_be_one_of_the_merchants_objects(api, other_api, many):
    ids, _ = many
    refused = other_api.get(f"/invoices?starting_after={ids[0]}")
    assert refused.status_code == 404 and refused.json["error"]["field"] == "starting_after"
    assert other_api.get("/invoices").json == {"data": [], "has_more": False}


def test_offset_still_works_but_is_deprecated(api, many, document):
    everything = [row["id"] for row in api.get("/invoices?limit=100").json["data"]]
    assert [row["id"] for row in api.get("/invoices?limit=3&offset=3").json["data"]] == everything[3:6]
    [offset] = [p for p in document["paths"]["/invoices"]["get"]["parameters"] if p["name"] == "offset"]
    assert offset["schema"]["deprecated"] is True


def test_customers_newest_first_with_cursors_and_search(api, time_machine):
    made = []
    for n, name in enumerate(["Ann", "bob", "Cleo", "dave", "Eve"]):
        time_machine.move_to(datetime(2026, 1, 1 + n, tzinfo=UTC), tick=False)
        made.append(api.post("/customers", {"name": name, "email": f"{name.lower()}@example.com"}).json["id"])
    assert [row["id"] for row in _walk(api, "/customers", 2)] == made[::-1]
    assert [row["name"] for row in api.get("/customers?q=VE").json["data"]] == ["Eve", "dave"]
    assert [row["name"] for row in api.get("/customers?created[lte]=2026-01-02T00:00:00Z").json["data"]] == [
        "bob",
        "Ann",
    ]


def test_the_document_states_the_filters(document):
    names = {p["name"] for p in document["paths"]["/invoices"]["get"]["parameters"]}
    assert names >= {
        "limit",
        "starting_after",
        "ending_before",
        "created[gte]",
        "created[lte]",
        "issue_date[gte]",
        "issue_date[lte]",
        "due_date[gte]",
        "due_date[lte]",
        "updated_since",
        "status",
        "customer_id",
        "q",
        "as_of",
    }
    [limit] = [p for p in document["paths"]["/invoices"]["get"]["parameters"] if p["name"] == "limit"]
    assert limit["schema"]["maximum"] == 100
    [as_of] = [p for p in document["paths"]["/invoices/{invoice_id}"]["get"]["parameters"] if p["name"] == "as_of"]
    assert "late-fee policy copied onto the invoice" in as_of["schema"]["description"]


@pytest.fixture
def document(client):
    return client.get("/api/v1/openapi.json").json
