"""The company's ERP records: departments, employees, accounts, contacts, projects, items and
invoices. Money is stored in integer cents and VAT in basis points, so sums are exact on every
database."""
