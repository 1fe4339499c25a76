"""What schemathesis found on the API: ids beyond any row, and NUL characters PostgreSQL cannot store, are 4xx."""

from __future__ import annotations


def test_an_id_beyond_any_row_is_404(api):
    for path in ("/invoices/2147483648", "/customers/99999999999999999999", "/webhook-endpoints/2147483648"):
        answer = api.get(path)
        assert answer.status_code == 404 and answer.json["error"]["code"] == "not_found"
    assert api.patch("/products/99999999999", {"name": "x"}).status_code == 404


def test_nul_characters_are_refused(api):
    body = api.post("/customers", {"name": "Ann\u0000", "email": "ann@example.com"})
    assert body.status_code == 400 and body.json["error"]["code"] == "bad_request"
    nested = api.post("/customers", {"name": "Ann", "email": "ann@example.com", "address": {"line1": "\u0000"}})
    assert nested.status_code == 400
    query = api.get("/customers?q=a%00b")
    assert query.status_code == 400
