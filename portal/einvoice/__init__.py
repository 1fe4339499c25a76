"""E-invoices: Peppol BIS Billing 3.0 UBL, UN/CEFACT CII and Factur-X PDFs, built from a document as issued.

`document` holds the frozen input (a finalized invoice or credit note, its amounts from the domain's
arithmetic), `en16931` the choices both syntaxes share (how a line's rounding and discounts are stated,
identifier schemes, exemption codes), and `ubl`, `cii` and `facturx` write the files. Nothing here
imports the ORM: the services build an `EDocument` from the finalized snapshot.
"""
