"""Field-level rules: which fields of a record a principal may read.

HR-private employee fields (private address, date of birth) are for HR and the employee
themself. Account credit limits and internal figures are for staff. Externals see an employee only
as a contact person: name, job title, email and work phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.access import Principal
from domain.records.org import Employee


def may_see_private(principal: Principal, employee: Employee) -> bool:
    return principal.is_staff and (principal.is_hr or principal.employee_id == employee.id)


@dataclass(frozen=True)
class EmployeeView:
    """An employee as one principal may see them; hidden fields are None."""

    id: int
    name: str
    job_title: str
    email: str
    work_phone: str | None
    number: str | None
    department_id: int | None
    manager_id: int | None
    hired_on: date | None
    private_address: str | None
    date_of_birth: date | None
    shows_private: bool


def view_employee(principal: Principal, employee: Employee) -> EmployeeView:
    private = may_see_private(principal, employee)
    staff = principal.is_staff
    return EmployeeView(
        id=employee.id,
        name=employee.name,
        job_title=employee.job_title,
        email=employee.email,
        work_phone=employee.work_phone,
        number=employee.number if staff else None,
        department_id=employee.department_id if staff else None,
        manager_id=employee.manager_id if staff else None,
        hired_on=employee.hired_on if staff else None,
        private_address=employee.private_address if private else None,
        date_of_birth=employee.date_of_birth if private else None,
        shows_private=private,
    )
