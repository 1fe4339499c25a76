"""Build ISO 20022 CAMT.053 statements and CAMT.054 notifications for tests and the benchmark."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from lxml import etree

CAMT053 = "BkToCstmrStmt", "Stmt"
CAMT054 = "BkToCstmrDbtCdtNtfctn", "Ntfctn"
ACCOUNT_IBAN = "BE71096123456769"


@dataclass
class Transfer:
    """One transaction: an entry of its own, or one of a batch entry's transactions."""

    amount: str
    currency: str = "EUR"
    credit: bool = True
    booking_date: date = date(2026, 3, 2)
    value_date: date | None = None
    account_servicer_reference: str | None = None
    end_to_end_id: str | None = None
    debtor_name: str | None = None
    debtor_iban: str | None = None
    structured_reference: str | None = None
    unstructured: Sequence[str] = ()
    status: str = "BOOK"
    reversal: bool = False


@dataclass
class Batch:
    """One entry holding several transactions (e.g. a bank's collective credit)."""

    transfers: Sequence[Transfer]
    account_servicer_reference: str | None = None
    booking_date: date = date(2026, 3, 2)
    #: Write each transaction's own amount (a batch a reader can split); False leaves only the total.
    amounts: bool = True
    currency: str = "EUR"


@dataclass
class Account:
    iban: str = ACCOUNT_IBAN
    currency: str = "EUR"
    statement_id: str = "STMT-2026-03-02"
    entries: list[Transfer | Batch] = field(default_factory=list)


def _sub(parent, ns: str, tag: str, text: str | None = None, **attributes):
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", **attributes)
    if text is not None:
        element.text = text
    return element


def _date(parent, ns: str, tag: str, day: date) -> None:
    _sub(_sub(parent, ns, tag), ns, "Dt", day.isoformat())


def _status(parent, ns: str, version: int, status: str) -> None:
    if version >= 6:
        _sub(_sub(parent, ns, "Sts"), ns, "Cd", status)
    else:
        _sub(parent, ns, "Sts", status)


def _party(parent, ns: str, version: int, tag: str, name: str) -> None:
    party = _sub(parent, ns, tag)
    _sub(_sub(party, ns, "Pty") if version >= 6 else party, ns, "Nm", name)


def _details(entry, ns: str, version: int, transfer: Transfer, *, with_amount: bool) -> None:
    details = _sub(entry, ns, "TxDtls")
    references = _sub(details, ns, "Refs")
    if transfer.account_servicer_reference:
        _sub(references, ns, "AcctSvcrRef", transfer.account_servicer_reference)
    _sub(references, ns, "EndToEndId", transfer.end_to_end_id or "NOTPROVIDED")
    if with_amount:
        if version >= 3:
            _sub(details, ns, "Amt", transfer.amount, Ccy=transfer.currency)
            _sub(details, ns, "CdtDbtInd", "CRDT" if transfer.credit else "DBIT")
        else:
            amounts = _sub(_sub(details, ns, "AmtDtls"), ns, "TxAmt")
            _sub(amounts, ns, "Amt", transfer.amount, Ccy=transfer.currency)
    if transfer.debtor_name or transfer.debtor_iban:
        parties = _sub(details, ns, "RltdPties")
        if transfer.debtor_name:
            _party(parties, ns, version, "Dbtr", transfer.debtor_name)
        if transfer.debtor_iban:
            _sub(_sub(_sub(parties, ns, "DbtrAcct"), ns, "Id"), ns, "IBAN", transfer.debtor_iban)
    if transfer.structured_reference or transfer.unstructured:
        remittance = _sub(details, ns, "RmtInf")
        for line in transfer.unstructured:
            _sub(remittance, ns, "Ustrd", line)
        if transfer.structured_reference:
            creditor_reference = _sub(_sub(remittance, ns, "Strd"), ns, "CdtrRefInf")
            kind = _sub(_sub(creditor_reference, ns, "Tp"), ns, "CdOrPrtry")
            _sub(kind, ns, "Cd", "SCOR")
            _sub(creditor_reference, ns, "Ref", transfer.structured_reference)


def _entry(report, ns: str, version: int, item: Transfer | Batch) -> None:
    entry = _sub(report, ns, "Ntry")
    if isinstance(item, Batch):
        total = sum(int(t.amount.replace(".", "")) for t in item.transfers)
        _sub(entry, ns, "Amt", f"{total // 100}.{total % 100:02d}", Ccy=item.currency)
        _sub(entry, ns, "CdtDbtInd", "CRDT")
        _status(entry, ns, version, "BOOK")
        _date(entry, ns, "BookgDt", item.booking_date)
        _date(entry, ns, "ValDt", item.booking_date)
        if item.account_servicer_reference:
            _sub(entry, ns, "AcctSvcrRef", item.account_servicer_reference)
        details = _sub(entry, ns, "NtryDtls")
        _sub(_sub(details, ns, "Btch"), ns, "NbOfTxs", str(len(item.transfers)))
        for transfer in item.transfers:
            _details(details, ns, version, transfer, with_amount=item.amounts)
        return
    _sub(entry, ns, "Amt", item.amount, Ccy=item.currency)
    _sub(entry, ns, "CdtDbtInd", "CRDT" if item.credit else "DBIT")
    if item.reversal:
        _sub(entry, ns, "RvslInd", "true")
    _status(entry, ns, version, item.status)
    _date(entry, ns, "BookgDt", item.booking_date)
    _date(entry, ns, "ValDt", item.value_date or item.booking_date)
    if item.account_servicer_reference:
        _sub(entry, ns, "AcctSvcrRef", item.account_servicer_reference)
    domain = _sub(_sub(entry, ns, "BkTxCd"), ns, "Domn")
    _sub(domain, ns, "Cd", "PMNT")
    family = _sub(domain, ns, "Fmly")
    _sub(family, ns, "Cd", "RCDT" if item.credit else "ICDT")
    _sub(family, ns, "SubFmlyCd", "ESCT" if item.credit else "DMCT")
    _details(_sub(entry, ns, "NtryDtls"), ns, version, item, with_amount=True)


def build(
    accounts: Sequence[Account] | Account,
    *,
    message: str = "camt.053",
    version: int = 8,
    message_id: str = "MSG-0001",
) -> bytes:
    """Return a CAMT document (camt.053 or camt.054 in version .001.<version>) holding the accounts' entries."""
    if isinstance(accounts, Account):
        accounts = [accounts]
    ns = f"urn:iso:std:iso:20022:tech:xsd:{message}.001.{version:02d}"
    container_tag, report_tag = CAMT053 if message == "camt.053" else CAMT054
    document = etree.Element(f"{{{ns}}}Document", nsmap={None: ns})
    container = _sub(document, ns, container_tag)
    header = _sub(container, ns, "GrpHdr")
    _sub(header, ns, "MsgId", message_id)
    _sub(header, ns, "CreDtTm", "2026-03-02T18:00:00+01:00")
    for account in accounts:
        report = _sub(container, ns, report_tag)
        _sub(report, ns, "Id", account.statement_id)
        _sub(report, ns, "CreDtTm", "2026-03-02T18:00:00+01:00")
        account_element = _sub(report, ns, "Acct")
        _sub(_sub(account_element, ns, "Id"), ns, "IBAN", account.iban)
        _sub(account_element, ns, "Ccy", account.currency)
        for item in account.entries:
            _entry(report, ns, version, item)
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)
