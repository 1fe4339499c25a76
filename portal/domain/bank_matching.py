"""Match money received by bank transfer to a merchant's invoices: by reference, else suggest, else leave it.

Everything is looked up in dictionaries built once per import (by reference, by amount, by payer),
so matching a statement of n entries against m invoices takes O(n + m), never O(n × m).
"""

from __future__ import annotations

import enum
import itertools
import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from portal.domain.bank_statements import StatementEntry
from portal.domain.payment_references import find_references, normalize_reference

#: At most this many suggestions per entry, strongest first.
MAX_SUGGESTIONS = 5
# A payer known for several customers (a shared account, a common name) suggests for a few only.
_MAX_PAYER_CUSTOMERS = 3
# Invoice numbers as the numbering service writes them (2026-0007); customers quote them in free text.
_JOINING_PUNCTUATION = frozenset(".'’")
_INVOICE_NUMBER = re.compile(r"(?<![\w-])(\d{4}-\d{4,})(?![\w-])")


class MatchStatus(str, enum.Enum):  # noqa: UP042 (str() of a member must stay its value)
    """What happens to an entry of money received."""

    #: Its reference names one invoice of the merchant: booked on it.
    MATCHED = "matched"
    #: No usable reference, but likely invoices exist: staff confirm one.
    SUGGESTED = "suggested"
    #: Nothing to go on: it waits for staff.
    UNMATCHED = "unmatched"


class SuggestionReason(str, enum.Enum):  # noqa: UP042
    """Why an invoice is suggested for an entry."""

    #: A valid reference of the invoice, but not one to book on by itself (another currency, or one of several).
    REFERENCE = "reference"
    #: The invoice's number is written in the remittance text.
    INVOICE_NUMBER = "invoice_number"
    #: The amount equals the invoice's amount due (or its outstanding amount without late fees).
    AMOUNT = "amount"
    #: The payer's account paid this customer's invoices before.
    PAYER_IBAN = "payer_iban"
    #: The payer's name is one seen before for this customer.
    PAYER_NAME = "payer_name"


@dataclass(frozen=True)
class InvoiceToMatch:
    """What matching needs to know of one finalized invoice of the merchant."""

    invoice_id: int
    customer_id: int
    number: str
    #: Compact structured reference (RF… or twelve OGM digits).
    reference: str | None
    currency: str
    #: What the customer owes today, late fees included; 0 once paid or void.
    amount_due: int
    #: total − credited − paid, without late fees.
    outstanding: int

    @property
    def is_open(self) -> bool:
        """Tell whether anything is still owed on the invoice."""
        return self.amount_due > 0 or self.outstanding > 0


@dataclass(frozen=True)
class KnownPayer:
    """Names and accounts that paid (or are) a customer, from earlier transfers and the customer's identity."""

    customer_id: int
    names: Collection[str] = ()
    ibans: Collection[str] = ()


@dataclass(frozen=True)
class Suggestion:
    """An invoice staff may confirm for an entry, and why it is suggested."""

    invoice_id: int
    reasons: tuple[SuggestionReason, ...]


@dataclass(frozen=True)
class EntryMatch:
    """The decision for one entry of money received."""

    status: MatchStatus
    #: The invoice to book on when matched.
    invoice_id: int | None = None
    #: The reference that decided it (compact), when one did.
    reference: str | None = None
    suggestions: tuple[Suggestion, ...] = ()


def normalize_name(name: str | None) -> str:
    """Return a payer name reduced for comparison: no accents, case, punctuation or extra spaces."""
    if not name:
        return ""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    # Dots and apostrophes join ("N.V." is "NV", "O'Brien" is "OBrien"); other punctuation separates words.
    letters = "".join(
        ch if ch.isalnum() else " "
        for ch in decomposed
        if not unicodedata.combining(ch) and ch not in _JOINING_PUNCTUATION
    )
    return " ".join(letters.split())


def _normalize_iban(iban: str | None) -> str:
    return (iban or "").replace(" ", "").upper()


@dataclass
class _Invoice:
    data: InvoiceToMatch
    amount_due: int
    outstanding: int

    @property
    def is_open(self) -> bool:
        return self.amount_due > 0 or self.outstanding > 0


@dataclass
class InvoiceIndex:
    """A merchant's invoices and known payers, indexed for matching one statement after another."""

    _by_id: dict[int, _Invoice] = field(default_factory=dict)
    _by_reference: dict[str, int] = field(default_factory=dict)
    _by_number: dict[str, int] = field(default_factory=dict)
    # Open invoices only; dicts keep insertion order (the caller's, e.g. oldest due first) and O(1) removal.
    _by_amount: dict[tuple[str, int], dict[int, None]] = field(default_factory=dict)
    _by_customer_amount: dict[tuple[int, str, int], dict[int, None]] = field(default_factory=dict)
    _by_customer: dict[int, dict[int, None]] = field(default_factory=dict)
    _payer_ibans: dict[str, dict[int, None]] = field(default_factory=dict)
    _payer_names: dict[str, dict[int, None]] = field(default_factory=dict)

    @classmethod
    def build(cls, invoices: Iterable[InvoiceToMatch], payers: Iterable[KnownPayer] = ()) -> InvoiceIndex:
        """Index invoices (open and settled: a transfer naming a paid one is still that invoice's money)."""
        index = cls()
        for invoice in invoices:
            entry = _Invoice(invoice, invoice.amount_due, invoice.outstanding)
            index._by_id[invoice.invoice_id] = entry
            if invoice.reference:
                index._by_reference[invoice.reference] = invoice.invoice_id
            index._by_number[invoice.number] = invoice.invoice_id
            index._add_open(entry)
        for payer in payers:
            index.learn_payer(payer.customer_id, names=payer.names, ibans=payer.ibans)
        return index

    def learn_payer(self, customer_id: int, *, names: Iterable[str | None] = (), ibans: Iterable[str | None] = ()):
        """Remember names and accounts that paid a customer's invoices, for later suggestions."""
        for iban in ibans:
            if key := _normalize_iban(iban):
                self._payer_ibans.setdefault(key, {})[customer_id] = None
        for name in names:
            if key := normalize_name(name):
                self._payer_names.setdefault(key, {})[customer_id] = None

    def _amount_keys(self, entry: _Invoice) -> set[int]:
        return {amount for amount in (entry.amount_due, entry.outstanding) if amount > 0}

    def _add_open(self, entry: _Invoice) -> None:
        if not entry.is_open:
            return
        invoice = entry.data
        self._by_customer.setdefault(invoice.customer_id, {})[invoice.invoice_id] = None
        for amount in self._amount_keys(entry):
            self._by_amount.setdefault((invoice.currency, amount), {})[invoice.invoice_id] = None
            key = (invoice.customer_id, invoice.currency, amount)
            self._by_customer_amount.setdefault(key, {})[invoice.invoice_id] = None

    def _remove_open(self, entry: _Invoice) -> None:
        invoice = entry.data
        self._by_customer.get(invoice.customer_id, {}).pop(invoice.invoice_id, None)
        for amount in self._amount_keys(entry):
            self._by_amount.get((invoice.currency, amount), {}).pop(invoice.invoice_id, None)
            key = (invoice.customer_id, invoice.currency, amount)
            self._by_customer_amount.get(key, {}).pop(invoice.invoice_id, None)

    def record_payment(self, invoice_id: int, amount: int) -> None:
        """Lower an invoice's amounts after money was booked on it, so later entries see what is left."""
        entry = self._by_id[invoice_id]
        self._remove_open(entry)
        entry.amount_due = max(0, entry.amount_due - amount)
        entry.outstanding = max(0, entry.outstanding - amount)
        self._add_open(entry)

    def invoice(self, invoice_id: int) -> InvoiceToMatch:
        """Return the invoice as it was indexed."""
        return self._by_id[invoice_id].data

    def customer_of(self, invoice_id: int) -> int:
        """Return the customer an indexed invoice belongs to."""
        return self._by_id[invoice_id].data.customer_id

    def references_in(self, entry: StatementEntry) -> list[str]:
        """Return the valid references an entry carries: structured field first, then free text."""
        found: dict[str, None] = {}
        for written in entry.structured_references:
            compact = normalize_reference(written)
            for reference in [compact] if compact else find_references(written):
                found.setdefault(reference)
        for reference in find_references(entry.unstructured):
            found.setdefault(reference)
        return list(found)

    def match(self, entry: StatementEntry) -> EntryMatch:
        """Decide what to do with one entry of money received."""
        references = self.references_in(entry)
        invoice_ids = list(dict.fromkeys(self._by_reference[r] for r in references if r in self._by_reference))
        reasons: dict[int, list[SuggestionReason]] = {}
        if len(invoice_ids) == 1:
            invoice = self._by_id[invoice_ids[0]].data
            reference = next(r for r in references if self._by_reference.get(r) == invoice.invoice_id)
            if invoice.currency == entry.currency:
                return EntryMatch(MatchStatus.MATCHED, invoice_id=invoice.invoice_id, reference=reference)
        for invoice_id in invoice_ids:
            reasons.setdefault(invoice_id, []).append(SuggestionReason.REFERENCE)
        self._suggest(entry, reasons)
        if not reasons:
            return EntryMatch(MatchStatus.UNMATCHED)
        ranked = sorted(reasons.items(), key=lambda item: -len(item[1]))[:MAX_SUGGESTIONS]
        suggestions = tuple(Suggestion(invoice_id, tuple(why)) for invoice_id, why in ranked)
        return EntryMatch(MatchStatus.SUGGESTED, suggestions=suggestions)

    def _suggest(self, entry: StatementEntry, reasons: dict[int, list[SuggestionReason]]) -> None:
        def add(invoice_ids: Iterable[int], reason: SuggestionReason) -> None:
            for invoice_id in itertools.islice(invoice_ids, MAX_SUGGESTIONS):
                why = reasons.setdefault(invoice_id, [])
                if reason not in why:
                    why.append(reason)

        for number in _INVOICE_NUMBER.findall(entry.unstructured[:2000]):
            invoice_id = self._by_number.get(number)
            if invoice_id is not None and self._by_id[invoice_id].is_open:
                add([invoice_id], SuggestionReason.INVOICE_NUMBER)
        payers: dict[int, list[SuggestionReason]] = {}
        for customer_id in self._payer_ibans.get(_normalize_iban(entry.debtor_iban), {}):
            payers.setdefault(customer_id, []).append(SuggestionReason.PAYER_IBAN)
        for customer_id in self._payer_names.get(normalize_name(entry.debtor_name), {}):
            payers.setdefault(customer_id, []).append(SuggestionReason.PAYER_NAME)
        for customer_id, payer_reasons in itertools.islice(payers.items(), _MAX_PAYER_CUSTOMERS):
            # The customer's invoices of exactly this amount first, then their other open ones.
            same_amount = self._by_customer_amount.get((customer_id, entry.currency, entry.amount), {})
            for reason in payer_reasons:
                add(same_amount, reason)
            add(same_amount, SuggestionReason.AMOUNT)
            for reason in payer_reasons:
                add(
                    (
                        i
                        for i in self._by_customer.get(customer_id, {})
                        if self._by_id[i].data.currency == entry.currency
                    ),
                    reason,
                )
        add(self._by_amount.get((entry.currency, entry.amount), {}), SuggestionReason.AMOUNT)


@dataclass(frozen=True)
class PlannedEntry:
    """One entry of money received and what to do with it."""

    entry: StatementEntry
    match: EntryMatch


@dataclass(frozen=True)
class ImportPlan:
    """What importing a statement does: the new entries with their decisions, and what it skips."""

    planned: tuple[PlannedEntry, ...]
    #: Entries of money received stored by an earlier import (or earlier in this file).
    duplicates: tuple[StatementEntry, ...]
    #: Debits, reversals and pending entries: not money received, not stored.
    ignored: tuple[StatementEntry, ...]

    def count(self, status: MatchStatus) -> int:
        """Return how many new entries got the status."""
        return sum(1 for planned in self.planned if planned.match.status is status)

    @property
    def summary(self) -> dict[str, int]:
        """Return the counts the API answers: entries, matched, suggested, unmatched, duplicates."""
        return {
            "entries": len(self.planned) + len(self.duplicates),
            "matched": self.count(MatchStatus.MATCHED),
            "suggested": self.count(MatchStatus.SUGGESTED),
            "unmatched": self.count(MatchStatus.UNMATCHED),
            "duplicates": len(self.duplicates),
        }


def plan_import(entries: Iterable[StatementEntry], index: InvoiceIndex, seen_keys: Collection[str]) -> ImportPlan:
    """Decide each new entry of money received in order, as if each matched one were booked before the next."""
    planned: list[PlannedEntry] = []
    duplicates: list[StatementEntry] = []
    ignored: list[StatementEntry] = []
    keys: set[str] = set()
    for entry in entries:
        if not entry.is_incoming_payment:
            ignored.append(entry)
            continue
        if entry.key in seen_keys or entry.key in keys:
            duplicates.append(entry)
            continue
        keys.add(entry.key)
        decision = index.match(entry)
        if decision.status is MatchStatus.MATCHED and decision.invoice_id is not None:
            # A later entry of this statement must see this payment: no second "same amount" suggestion
            # for an invoice this entry just paid. The payer is now known for the customer, too.
            index.record_payment(decision.invoice_id, entry.amount)
            index.learn_payer(
                index.customer_of(decision.invoice_id), names=[entry.debtor_name], ibans=[entry.debtor_iban]
            )
        planned.append(PlannedEntry(entry, decision))
    return ImportPlan(tuple(planned), tuple(duplicates), tuple(ignored))
