"""A draft's amount_due is the figure its breakdown ends with: what would be due were it finalized now."""

from __future__ import annotations

from tests.api.conftest import invoice_body


def test_a_draft_never_disagrees_with_its_breakdown(api, customer_id):
    draft = api.post("/invoices", invoice_body(customer_id)).json
    shown = api.get(f"/invoices/{draft['id']}?as_of=2026-03-02").json
    assert shown["status"] == "draft"
    assert shown["breakdown"][-1] == {"kind": "amount_due", "amount": shown["amount_due"]}
    assert shown["amount_due"] == 104986  # the SPEC's vector: 1,000.00 + 40.00 fee + 9.86 interest
    on_time = api.get(f"/invoices/{draft['id']}?as_of=2026-01-15").json
    assert on_time["amount_due"] == on_time["breakdown"][-1]["amount"] == 100000
