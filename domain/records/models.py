"""Every record model in one import, for Alembic and for callers that need several."""

from domain.records.invoicing import Invoice, InvoiceLine, InvoiceStatus, Item, Payment
from domain.records.org import Department, Employee, EmployeeSkill
from domain.records.projects import Project, ProjectMember, ProjectPartner, ProjectStatus
from domain.records.relations import Account, AccountType, Contact

__all__ = [
    "Account",
    "AccountType",
    "Contact",
    "Department",
    "Employee",
    "EmployeeSkill",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "Item",
    "Payment",
    "Project",
    "ProjectMember",
    "ProjectPartner",
    "ProjectStatus",
]
