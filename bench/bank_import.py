"""Benchmark the bank statement import: entries per second, and how the time grows with the statement.

A CAMT.053 statement of N entries is matched against N open invoices, for N = 1,000 and 10,000.
Measured: parsing the XML, then matching (building the index included). Booking on the database
joins the measurement when the import is wired to PostgreSQL (issue 12, phase 2).

Run: .venv/bin/python bench/bank_import.py
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal.domain.bank_matching import InvoiceIndex, InvoiceToMatch, KnownPayer, plan_import  # noqa: E402
from portal.domain.bank_statements import parse_statement  # noqa: E402
from portal.domain.payment_references import format_reference, ogm_reference  # noqa: E402
from tests.bank.camt import Account, Transfer, build  # noqa: E402

SIZES = (1_000, 10_000)
#: The goal: a month of a busy account (10,000 entries) imported in under 10 s, and linear growth.
GOAL_ENTRIES_PER_SECOND = 1_000
REPEATS = 3


def amount_text(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def scenario(size: int, seed: int = 12) -> tuple[bytes, list[InvoiceToMatch], list[KnownPayer]]:
    """Return a statement of `size` entries, `size` open invoices and the payers known for them."""
    rng = random.Random(seed)
    customers = max(1, size // 10)
    invoices = [
        InvoiceToMatch(
            invoice_id=n,
            customer_id=n % customers,
            number=f"2026-{n:04d}",
            reference=ogm_reference(2026, n),
            currency="EUR",
            amount_due=rng.randrange(1_000, 500_000),
            outstanding=0,
        )
        for n in range(1, size + 1)
    ]
    invoices = [
        InvoiceToMatch(**{**i.__dict__, "outstanding": i.amount_due}) for i in invoices
    ]  # no late fees: outstanding = amount due
    payers = [
        KnownPayer(c, names=[f"Customer {c} BV"], ibans=[f"BE{c % 90 + 10:02d}0000{c:08d}"])
        for c in range(0, customers, 2)
    ]
    transfers = []
    for n in range(size):
        target = invoices[rng.randrange(size)]
        kind = rng.random()
        common = {
            "account_servicer_reference": f"BENCH-{n:06d}",
            "debtor_name": f"Customer {target.customer_id} BV",
            "debtor_iban": f"BE{target.customer_id % 90 + 10:02d}0000{target.customer_id:08d}",
        }
        if kind < 0.60:  # structured reference, the exact amount
            transfer = Transfer(
                amount_text(target.amount_due), structured_reference=format_reference(target.reference), **common
            )
        elif kind < 0.75:  # the reference in free text, with spaces
            digits = target.reference
            text = f"Invoice {target.number} ref {digits[:3]} {digits[3:7]} {digits[7:]} thank you"
            transfer = Transfer(amount_text(target.amount_due), unstructured=[text], **common)
        elif kind < 0.80:  # a typo in the reference
            wrong = target.reference[:5] + str((int(target.reference[5]) + 1) % 10) + target.reference[6:]
            transfer = Transfer(amount_text(target.amount_due), unstructured=[wrong], **common)
        elif kind < 0.90:  # no reference, the amount due, a payer maybe known
            transfer = Transfer(amount_text(target.amount_due), unstructured=["Payment"], **common)
        else:  # nothing to go on
            transfer = Transfer(
                amount_text(rng.randrange(1, 999)), debtor_name=f"Stranger {n}", account_servicer_reference=f"X-{n}"
            )
        transfers.append(transfer)
    return build(Account(entries=transfers)), invoices, payers


def measure(size: int) -> dict[str, float]:
    document, invoices, payers = scenario(size)
    best = {"parse": float("inf"), "match": float("inf")}
    for _ in range(REPEATS):
        start = time.perf_counter()
        statement = parse_statement(document)
        parsed = time.perf_counter()
        plan = plan_import(statement.entries, InvoiceIndex.build(invoices, payers), seen_keys=frozenset())
        matched = time.perf_counter()
        best["parse"] = min(best["parse"], parsed - start)
        best["match"] = min(best["match"], matched - parsed)
    assert len(statement.entries) == size
    best["bytes"] = len(document)
    best.update(plan.summary)
    return best


def main() -> None:
    results = {size: measure(size) for size in SIZES}
    print(f"Bank statement import, parse + match (best of {REPEATS}); N entries against N open invoices")
    for size, r in results.items():
        total = r["parse"] + r["match"]
        print(
            f"N = {size:>6,}: {r['bytes'] / 1e6:5.1f} MB  parse {r['parse'] * 1000:7.1f} ms  "
            f"match {r['match'] * 1000:7.1f} ms  total {total * 1000:7.1f} ms  "
            f"= {size / total:8,.0f} entries/s   (goal ≥ {GOAL_ENTRIES_PER_SECOND:,} entries/s)"
        )
        print(f"            matched {r['matched']:,}, suggested {r['suggested']:,}, unmatched {r['unmatched']:,}")
    small, large = (results[s] for s in SIZES)
    ratio = lambda key: large[key] / small[key]  # noqa: E731
    growth = SIZES[1] / SIZES[0]
    print(
        f"time 10,000 / 1,000: parse ×{ratio('parse'):.1f}, match ×{ratio('match'):.1f}, "
        f"total ×{(large['parse'] + large['match']) / (small['parse'] + small['match']):.1f}  "
        f"(goal: linear, ≈ ×{growth:.0f}; quadratic matching would be ≈ ×{growth**2:.0f})"
    )


if __name__ == "__main__":
    main()
