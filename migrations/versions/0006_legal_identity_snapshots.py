"""legal identities, VAT categories and snapshots of finalized documents

Revision ID: 0006
Revises: 0005

Merchants get a legal name, address, VAT and company numbers, phone, website, IBAN and BIC;
customers a company, address, VAT and company numbers and phone. Every line (invoices, credit
notes, products, charges, recurring lines) gets an EN 16931 VAT category: S where it charges tax,
Z (zero rated) where its rate is 0, since a standard-rated line at 0 % is not valid EN 16931.

Invoices and credit notes keep what they were issued with: seller, buyer, language, exemption
wording, terms and (invoices) the mail wording. Existing finalized invoices and credit notes had
no such record, so this migration gives each of them a snapshot of TODAY's values (the merchant's
and the customer's rows as they are when it runs, the merchant's default terms when the invoice had
none of its own, and the merchant's own invoice mail for the customer's language if any). That is
the best record there is; from now on every document is frozen when it is finalized.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

LINE_TABLES = ("invoice_lines", "credit_note_lines", "products", "charges", "recurring_lines")
TAX_CATEGORY_CHECK = "tax_category IN ('S', 'Z', 'E', 'AE', 'K', 'G', 'O')"
IDENTITY_COLUMNS = (
    ("address_line1", 200),
    ("address_line2", 200),
    ("postal_code", 20),
    ("city", 100),
    ("country", 2),
    ("vat_number", 20),
    ("company_number", 60),
    ("phone", 40),
)


def _identity_columns():
    return [sa.Column(name, sa.String(length=length), nullable=True) for name, length in IDENTITY_COLUMNS]


def _snapshot_columns():
    return [
        sa.Column("seller", sa.JSON(), nullable=True),
        sa.Column("buyer", sa.JSON(), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("exemption_reasons", sa.JSON(), nullable=True),
    ]


def upgrade():
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("legal_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("website", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("iban", sa.String(length=34), nullable=True))
        batch_op.add_column(sa.Column("bic", sa.String(length=11), nullable=True))
        for column in _identity_columns():
            batch_op.add_column(column)
    op.execute("UPDATE merchants SET legal_name = name WHERE legal_name IS NULL")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("company", sa.String(length=200), nullable=True))
        for column in _identity_columns():
            batch_op.add_column(column)

    for table in LINE_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("tax_category", sa.String(length=2), server_default="S", nullable=False))
        # A 0 % line cannot be standard rated (EN 16931 BR-S-05): it was zero rated all along.
        op.execute(f"UPDATE {table} SET tax_category = 'Z' WHERE CAST(tax_rate AS NUMERIC) = 0")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(op.f(f"ck_{table}_tax_category_known"), TAX_CATEGORY_CHECK)

    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("supply_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("mail_template", sa.JSON(), nullable=True))
        for column in _snapshot_columns():
            batch_op.add_column(column)
    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        for column in _snapshot_columns():
            batch_op.add_column(column)

    _snapshot_existing_documents()


def _address(row) -> dict | None:
    if not any((row.address_line1, row.postal_code, row.city, row.country)):
        return None
    return {
        "line1": row.address_line1 or "",
        "line2": row.address_line2 or None,
        "postal_code": row.postal_code or "",
        "city": row.city or "",
        "country": row.country or "",
    }


def _snapshot_existing_documents() -> None:
    """Give every finalized document a snapshot of today's merchant and customer (see the docstring)."""
    connection = op.get_bind()
    merchants = {row.id: row for row in connection.execute(sa.text("SELECT * FROM merchants"))}
    customers = {row.id: row for row in connection.execute(sa.text("SELECT * FROM customers"))}
    templates = {
        (row.merchant_id, row.language): {"subject": row.subject, "body": row.body}
        for row in connection.execute(
            sa.text("SELECT merchant_id, language, subject, body FROM email_templates WHERE kind = 'invoice'")
        )
    }

    def seller(merchant) -> dict:
        return {
            "legal_name": merchant.legal_name or merchant.name,
            "address": _address(merchant),
            "vat_number": None,
            "company_number": None,
            "email": merchant.support_email,
            "phone": None,
            "website": None,
            "iban": None,
            "bic": None,
        }

    def buyer(customer) -> dict:
        return {
            "name": customer.name,
            "company": None,
            "address": None,
            "vat_number": None,
            "company_number": None,
            "email": customer.email,
            "phone": None,
        }

    invoices = sa.table(
        "invoices",
        sa.column("id", sa.Integer),
        sa.column("seller", sa.JSON),
        sa.column("buyer", sa.JSON),
        sa.column("language", sa.String),
        sa.column("exemption_reasons", sa.JSON),
        sa.column("terms", sa.Text),
        sa.column("mail_template", sa.JSON),
    )
    rows = connection.execute(
        sa.text("SELECT id, merchant_id, customer_id, terms FROM invoices WHERE status <> 'draft'")
    ).all()
    for row in rows:
        merchant, customer = merchants[row.merchant_id], customers[row.customer_id]
        connection.execute(
            invoices.update()
            .where(invoices.c.id == row.id)
            .values(
                seller=seller(merchant),
                buyer=buyer(customer),
                language=customer.language,
                exemption_reasons={},
                terms=row.terms or merchant.terms,
                mail_template=templates.get((merchant.id, customer.language)),
            )
        )

    credit_notes = sa.table(
        "credit_notes",
        sa.column("id", sa.Integer),
        sa.column("seller", sa.JSON),
        sa.column("buyer", sa.JSON),
        sa.column("language", sa.String),
        sa.column("exemption_reasons", sa.JSON),
    )
    for row in connection.execute(sa.text("SELECT id, merchant_id, customer_id FROM credit_notes")).all():
        customer = customers[row.customer_id]
        connection.execute(
            credit_notes.update()
            .where(credit_notes.c.id == row.id)
            .values(
                seller=seller(merchants[row.merchant_id]),
                buyer=buyer(customer),
                language=customer.language,
                exemption_reasons={},
            )
        )


def downgrade():
    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        for name in ("exemption_reasons", "language", "buyer", "seller"):
            batch_op.drop_column(name)
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        for name in ("exemption_reasons", "language", "buyer", "seller", "mail_template", "supply_date"):
            batch_op.drop_column(name)
    for table in LINE_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_tax_category_known"), type_="check")
            batch_op.drop_column("tax_category")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        for name, _length in reversed(IDENTITY_COLUMNS):
            batch_op.drop_column(name)
        batch_op.drop_column("company")
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        for name, _length in reversed(IDENTITY_COLUMNS):
            batch_op.drop_column(name)
        for name in ("bic", "iban", "website", "legal_name"):
            batch_op.drop_column(name)
