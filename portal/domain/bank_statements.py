"""ISO 20022 bank statements (CAMT.052/053/054, any version) read into plain statement entries.

The XML comes from outside (an upload, an API body), so it is parsed defensively: no DTD, no entity
expansion, no network, a size limit, libxml2's own depth and text limits kept.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

from portal.domain.errors import DomainError, InvalidAmount, UnknownCurrency
from portal.domain.money import Money, currency_exponent

#: A month of a busy account is a few megabytes; refuse anything far beyond before parsing it.
MAX_STATEMENT_BYTES = 50 * 1024 * 1024

# The message types read, by the child of <Document> and the name of each report inside it.
_MESSAGES = {
    "camt.052": ("BkToCstmrAcctRpt", "Rpt"),
    "camt.053": ("BkToCstmrStmt", "Stmt"),
    "camt.054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
}
_NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:(camt\.05[234])\.001\.(\d\d)$")
_AMOUNT = re.compile(r"^\d{1,15}(?:\.\d{1,10})?$")
_NOT_PROVIDED = "NOTPROVIDED"
_MAX_TEXT = 1000


class StatementError(DomainError):
    """Signal a bank statement that cannot be read: not CAMT, malformed, unsafe or too large."""

    code = "invalid_statement"


@dataclass(frozen=True)
class StatementEntry:
    """One movement on the account: a booked entry, or one transaction of a batch entry."""

    #: Stable identity for idempotent imports: the account servicer's reference, else a hash of the fields.
    key: str
    #: The message it came from, e.g. "camt.053.001.08", and the statement's own id.
    message: str
    statement_id: str | None
    account_iban: str | None
    booking_date: date | None
    value_date: date | None
    #: Minor units of currency; always positive, the direction is `credit`.
    amount: int
    currency: str
    credit: bool
    #: A reversal (a returned or cancelled movement) is never a customer's payment.
    reversal: bool
    #: False for pending or information-only entries (camt.052/054 may carry them).
    booked: bool
    account_servicer_reference: str | None
    end_to_end_id: str | None
    debtor_name: str | None
    debtor_iban: str | None
    #: Structured remittance (CdtrRefInf/Ref), as written by the payer.
    structured_references: tuple[str, ...]
    #: Unstructured remittance (Ustrd, joined), and additional entry information when a bank puts it there.
    unstructured: str

    @property
    def money(self) -> Money:
        """Return the amount as Money."""
        return Money(self.amount, self.currency)

    @property
    def is_incoming_payment(self) -> bool:
        """Tell whether this is money received: a booked credit that is not a reversal."""
        return self.credit and self.booked and not self.reversal and self.booking_date is not None


@dataclass(frozen=True)
class BankStatement:
    """Every entry of one CAMT document, in document order."""

    message: str
    entries: tuple[StatementEntry, ...]

    @property
    def incoming_payments(self) -> tuple[StatementEntry, ...]:
        """Return the entries that are money received."""
        return tuple(entry for entry in self.entries if entry.is_incoming_payment)


def _parser() -> etree.XMLParser:
    # One parser per call (lxml parsers are not shared between threads). Entities are kept as
    # references, never expanded; no DTD is loaded and no network reached; huge_tree stays off
    # so libxml2 keeps its depth and text-size limits.
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


def _parse_xml(data: bytes, max_bytes: int) -> etree._Element:
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"A statement is bytes, not {type(data).__name__}")
    if len(data) > max_bytes:
        raise StatementError(f"The statement is larger than {max_bytes // (1024 * 1024)} MB", "file")
    if not data.strip():
        raise StatementError("The statement is empty", "file")
    # ISO 20022 messages never carry a DTD; one is how entity bombs and external entities get in.
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise StatementError("The statement declares a DTD, which bank statements never do", "file")
    try:
        root = etree.fromstring(bytes(data), _parser())
    except etree.XMLSyntaxError as error:
        raise StatementError(f"The statement is not well-formed XML: {error.msg}", "file") from None
    tree = root.getroottree()
    # The same checks after parsing, for encodings the byte scan above cannot see into.
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise StatementError("The statement declares a DTD, which bank statements never do", "file")
    if next(root.iter(etree.Entity), None) is not None:
        raise StatementError("The statement uses XML entities, which bank statements never do", "file")
    return root


class _Node:
    """The elements below one element by local path ("Refs/EndToEndId"), collected in one walk.

    One breadth-first walk keeps document order and is far cheaper than an ElementPath search per
    field; the namespace (the message version) is cut off every tag, so every version reads alike.
    """

    __slots__ = ("_paths",)

    def __init__(self, element: etree._Element, prefix_length: int, stop: frozenset[str] = frozenset()) -> None:
        paths: dict[str, list[etree._Element]] = {}
        queue = deque([(element, "")])
        while queue:
            current, base = queue.popleft()
            for child in current:
                tag = child.tag
                if not isinstance(tag, str):
                    continue
                path = f"{base}/{tag[prefix_length:]}" if base else tag[prefix_length:]
                paths.setdefault(path, []).append(child)
                if path not in stop:
                    queue.append((child, path))
        self._paths = paths

    def first(self, *paths: str) -> etree._Element | None:
        """Return the first element found at any of the paths, tried in order."""
        for path in paths:
            found = self._paths.get(path)
            if found:
                return found[0]
        return None

    def all(self, path: str) -> list[etree._Element]:
        return self._paths.get(path, [])

    def text(self, *paths: str) -> str | None:
        """Return the first non-blank text among the paths, whitespace collapsed and bounded."""
        for path in paths:
            for element in self._paths.get(path, ()):
                if element.text and element.text.strip():
                    return " ".join(element.text.split())[:_MAX_TEXT]
        return None

    def texts(self, path: str) -> list[str]:
        return [" ".join(e.text.split())[:_MAX_TEXT] for e in self._paths.get(path, ()) if e.text and e.text.strip()]


def _message(root: etree._Element) -> tuple[str, str]:
    qname = etree.QName(root)
    match = _NAMESPACE.match(qname.namespace or "")
    if qname.localname != "Document" or match is None:
        raise StatementError(
            "Not an ISO 20022 bank statement: expected a CAMT.052, CAMT.053 or CAMT.054 document", "file"
        )
    return match.group(1), f"{match.group(1)}.001.{match.group(2)}"


def _amount(element: etree._Element | None, where: str) -> tuple[int, str] | None:
    """Return (minor units, currency) of an amount element with its Ccy attribute."""
    if element is None:
        return None
    currency = (element.get("Ccy") or "").strip()
    text = (element.text or "").strip()
    try:
        exponent = currency_exponent(currency)
    except UnknownCurrency:
        raise StatementError(f"{where}: unknown currency {currency!r}", "file") from None
    if not _AMOUNT.match(text):
        raise StatementError(f"{where}: {text!r} is not an amount", "file")
    try:
        value = Decimal(text)
        minor = value.scaleb(exponent)
    except InvalidOperation:
        raise StatementError(f"{where}: {text!r} is not an amount", "file") from None
    if minor != minor.to_integral_value():
        raise StatementError(f"{where}: {text} {currency} has more decimals than the currency", "file")
    try:
        return Money(int(minor), currency).minor, currency
    except InvalidAmount as error:
        raise StatementError(f"{where}: {error.message}", "file") from None


def _date(node: _Node, path: str, where: str) -> date | None:
    text = node.text(f"{path}/Dt", f"{path}/DtTm")
    if text is None:
        return None
    try:
        # A DtTm is the bank's local date and time; its date part is the booking day.
        return date.fromisoformat(text[:10])
    except ValueError:
        raise StatementError(f"{where}: {text!r} is not a date", "file") from None


def _status(node: _Node) -> str | None:
    # Up to version .05 <Sts>BOOK</Sts>; from .06 on <Sts><Cd>BOOK</Cd></Sts>.
    return node.text("Sts/Cd", "Sts/Prtry", "Sts")


def _flag(text: str | None) -> bool:
    return (text or "").strip().lower() in {"true", "1"}


def _iban(text: str | None) -> str | None:
    return text.replace(" ", "").upper() if text else None


def _reference(text: str | None) -> str | None:
    return None if text is None or text.upper() == _NOT_PROVIDED else text


@dataclass(frozen=True)
class _Transaction:
    amount: tuple[int, str] | None
    credit: bool | None
    account_servicer_reference: str | None
    end_to_end_id: str | None
    transaction_id: str | None
    debtor_name: str | None
    debtor_iban: str | None
    structured: tuple[str, ...]
    unstructured: tuple[str, ...]


def _transaction(node: _Node, where: str) -> _Transaction:
    # .02: only AmtDtls; later versions: Amt, with AmtDtls alongside.
    amount = _amount(node.first("Amt", "AmtDtls/TxAmt/Amt", "AmtDtls/InstdAmt/Amt"), where)
    indicator = node.text("CdtDbtInd")
    unstructured = node.texts("RmtInf/Ustrd")
    additional = node.text("AddtlTxInf")
    if additional:
        unstructured.append(additional)
    return _Transaction(
        amount=amount,
        credit=None if indicator is None else indicator == "CRDT",
        account_servicer_reference=_reference(node.text("Refs/AcctSvcrRef")),
        end_to_end_id=_reference(node.text("Refs/EndToEndId")),
        transaction_id=_reference(node.text("Refs/TxId")),
        # .02–.05: Dbtr/Nm; .06 on: Dbtr/Pty/Nm. The ultimate debtor only when no debtor is named.
        debtor_name=node.text(
            "RltdPties/Dbtr/Nm", "RltdPties/Dbtr/Pty/Nm", "RltdPties/UltmtDbtr/Nm", "RltdPties/UltmtDbtr/Pty/Nm"
        ),
        debtor_iban=_iban(node.text("RltdPties/DbtrAcct/Id/IBAN")),
        structured=tuple(node.texts("RmtInf/Strd/CdtrRefInf/Ref")),
        unstructured=tuple(unstructured),
    )


_EMPTY_TRANSACTION = _Transaction(None, None, None, None, None, None, None, (), ())


def _entries(report: etree._Element, prefix_length: int, message: str, number: int) -> Iterator[StatementEntry]:
    head = _Node(report, prefix_length, stop=frozenset({"Ntry", "Bal", "TxsSummry"}))
    statement_id = head.text("Id")
    account_iban = _iban(head.text("Acct/Id/IBAN", "Acct/Id/Othr/Id"))
    for position, entry in enumerate(head.all("Ntry"), start=1):
        where = f"Statement {statement_id or number}, entry {position}"
        node = _Node(entry, prefix_length, stop=frozenset({"NtryDtls/TxDtls"}))
        amount = _amount(node.first("Amt"), where)
        if amount is None:
            raise StatementError(f"{where} has no amount", "file")
        indicator = node.text("CdtDbtInd")
        if indicator not in {"CRDT", "DBIT"}:
            raise StatementError(f"{where}: credit/debit indicator {indicator!r} is neither CRDT nor DBIT", "file")
        # Sts is mandatory in every version; a document without it is taken as booked.
        booked = _status(node) in {None, "BOOK"}
        booking_date = _date(node, "BookgDt", where)
        value_date = _date(node, "ValDt", where)
        entry_reference = _reference(node.text("AcctSvcrRef"))
        additional = node.text("AddtlNtryInf")
        reversal = _flag(node.text("RvslInd"))
        details = [
            _transaction(_Node(element, prefix_length), f"{where}, transaction {index}")
            for index, element in enumerate(node.all("NtryDtls/TxDtls"), start=1)
        ] or [_EMPTY_TRANSACTION]
        # A batch entry splits into its transactions only when each states its own amount;
        # otherwise the entry stays whole and carries every transaction's remittance.
        batch = len(details) > 1 and all(transaction.amount is not None for transaction in details)
        if not batch and len(details) > 1:
            details = [
                replace(
                    details[0],
                    amount=None,
                    structured=tuple(s for t in details for s in t.structured),
                    unstructured=tuple(u for t in details for u in t.unstructured),
                )
            ]
        for index, transaction in enumerate(details, start=1):
            minor, currency = transaction.amount if batch and transaction.amount else amount
            credit = indicator == "CRDT" if transaction.credit is None or not batch else transaction.credit
            reference = transaction.account_servicer_reference or entry_reference
            # A batch's transactions share the entry's reference when they have none of their own.
            key = reference if transaction.account_servicer_reference or not batch else f"{reference}/{index}"
            unstructured = list(transaction.unstructured)
            if additional and not unstructured:
                unstructured.append(additional)
            yield StatementEntry(
                key=f"ref:{key}" if reference else "",
                message=message,
                statement_id=statement_id,
                account_iban=account_iban,
                booking_date=booking_date or (value_date if booked else None),
                value_date=value_date,
                amount=minor,
                currency=currency,
                credit=credit,
                reversal=reversal,
                booked=booked,
                account_servicer_reference=reference,
                end_to_end_id=transaction.end_to_end_id,
                debtor_name=transaction.debtor_name,
                debtor_iban=transaction.debtor_iban,
                structured_references=transaction.structured,
                unstructured=" ".join(unstructured),
            )


def _field_hash(entry: StatementEntry) -> str:
    fields = (
        entry.account_iban,
        entry.booking_date,
        entry.value_date,
        entry.amount,
        entry.currency,
        entry.credit,
        entry.reversal,
        entry.end_to_end_id,
        entry.debtor_name,
        entry.debtor_iban,
        entry.structured_references,
        entry.unstructured,
    )
    return hashlib.sha256(repr(fields).encode("utf-8")).hexdigest()


def _with_stable_keys(entries: list[StatementEntry]) -> tuple[StatementEntry, ...]:
    # Without a bank reference the key is a hash of the fields. Two identical transfers on one
    # statement (the same payer paying the same amount twice that day) are two payments, so the
    # n-th identical one gets "#n": re-reading the same file yields the same keys, and neither is lost.
    seen: Counter[str] = Counter()
    keyed = []
    for entry in entries:
        key = entry.key or f"sha256:{_field_hash(entry)}"
        seen[key] += 1
        if seen[key] > 1:
            key = f"{key}#{seen[key]}"
        keyed.append(replace(entry, key=key))
    return tuple(keyed)


def parse_statement(data: bytes, *, max_bytes: int = MAX_STATEMENT_BYTES) -> BankStatement:
    """Read a CAMT.052, CAMT.053 or CAMT.054 document (any version) into its entries."""
    root = _parse_xml(data, max_bytes)
    kind, message = _message(root)
    prefix_length = len(root.tag) - len("Document")
    container_name, report_name = _MESSAGES[kind]
    container = _Node(root, prefix_length, stop=frozenset({container_name})).first(container_name)
    if container is None:
        raise StatementError(f"A {kind} document needs a <{container_name}> element", "file")
    reports = _Node(container, prefix_length, stop=frozenset({report_name, "GrpHdr"})).all(report_name)
    entries = [
        entry
        for number, report in enumerate(reports, start=1)
        for entry in _entries(report, prefix_length, message, number)
    ]
    return BankStatement(message=message, entries=_with_stable_keys(entries))
