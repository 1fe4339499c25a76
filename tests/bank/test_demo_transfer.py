"""`flask portal demo`: every issued invoice has a reference, and an overdue one's EPC QR code scans to today's amount."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal

from tests.bank.scanner import decode_data_uri

_QR = re.compile(r'<img src="(data:image/png;base64,[^"]+)" data-testid="epc-qr"')


def test_the_demo_overdue_invoice_scans_to_its_amount_due_today(app, runner, time_machine, tmp_path):
    time_machine.move_to(datetime(2026, 3, 2, 10, tzinfo=UTC), tick=False)
    logins = json.loads(runner.invoke(args=["portal", "demo", "--json"]).output)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {logins['api_key']}"}
    everything = client.get("/api/v1/invoices?limit=100", headers=headers).json["data"]

    assert all((invoice["payment_reference"] is None) == (invoice["status"] == "draft") for invoice in everything)
    # The demo merchant is Belgian: structured communications.
    assert all(re.fullmatch(r"\d{12}", i["payment_reference"]) for i in everything if i["payment_reference"])
    customers = client.get("/api/v1/customers?limit=100", headers=headers).json["data"]
    jane = next(customer["id"] for customer in customers if customer["email"] == "jane@customer.example")
    overdue = next(i for i in everything if i["overdue"] and i["late_fee"] and i["customer_id"] == jane)

    client.get(logins["portal_url"].split("portal.test", 1)[1])
    page = client.get(f"/invoices/{overdue['number']}").get_data(as_text=True)
    lines = decode_data_uri(_QR.search(page).group(1), tmp_path)

    assert lines[:7] == ["BCD", "002", "1", "SCT", "GKCCBEBB", "Atelier Lumen SRL", "BE68539007547034"]
    assert Decimal(lines[7].removeprefix("EUR")) == Decimal(overdue["amount_due"]) / 100
    assert overdue["amount_due"] > overdue["outstanding"]  # late fee and interest included
    assert lines[9] == overdue["payment_reference"]
