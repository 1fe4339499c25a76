"""Documents: invoice and credit-note PDFs (pdf.py) and the invoice's zip bundle (archive.py)."""
