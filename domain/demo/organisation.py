"""The demo company's own people: departments, employees, their skills and their staff logins.

Reporting lines follow the department tree: the general manager heads the board, each
department's manager reports to the manager of its parent department (the general manager for the
departments directly under the board, the sales manager for customer service), and everyone else
reports to their own department's manager. Every employee has a staff user with the same id, so
``employees.user_id == employees.id`` throughout the demo.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from domain.demo import logins
from domain.demo.chance import Chance
from domain.demo.departments import (
    COMPANY_DOMAIN,
    DEPARTMENTS,
    HR,
    ICT,
    MARKETING,
    SERVICES,
    SWITCHBOARD,
    DepartmentSpec,
)
from domain.demo.identifiers import EmailBook
from domain.demo.rows import DemoData, moment
from domain.people.models import Role, UserKind

# When the company started using the portal; older employees' logins date from then.
PORTAL_AGE_DAYS = 420
YEAR = 365


@dataclass(frozen=True)
class StaffMember:
    id: int
    name: str
    department: str
    title: str


@dataclass(frozen=True)
class Organisation:
    """Who works where, for the builders that hand out accounts and projects."""

    staff: tuple[StaffMember, ...]
    employee_login_id: int

    def in_department(self, code: str) -> list[StaffMember]:
        return [m for m in self.staff if m.department == code]

    def with_titles(self, titles: frozenset[str]) -> list[StaffMember]:
        return [m for m in self.staff if m.title in titles]


def build_organisation(
    chance: Chance, today: date, password_hash: str, data: DemoData
) -> Organisation:
    """Add departments, employees, skills, staff users and their roles to ``data``."""
    department_ids = {spec.code: n for n, spec in enumerate(DEPARTMENTS, start=1)}
    for spec in DEPARTMENTS:
        data.departments.append(
            {
                "id": department_ids[spec.code],
                "code": spec.code,
                "name": spec.name,
                "parent_id": department_ids[spec.parent] if spec.parent else None,
                "manager_id": None,
            }
        )

    # Managers first, in department order (parents before children), so that every employee's
    # manager is written before them and the general manager is employee 1.
    places: list[tuple[DepartmentSpec, str]] = [(spec, spec.manager_title) for spec in DEPARTMENTS]
    for spec in DEPARTMENTS:
        places += [(spec, spec.titles[k % len(spec.titles)]) for k in range(spec.headcount - 1)]
    manager_of = {spec.code: n for n, spec in enumerate(DEPARTMENTS, start=1)}

    emails = EmailBook()
    for demo_login in logins.DEMO_LOGINS:
        emails.reserve(demo_login.email)
    fixed = {
        (ICT, "ICT-manager"): logins.ADMIN,
        (SERVICES, "Projectleider"): logins.EMPLOYEE,
    }
    staff: list[StaffMember] = []
    login_ids: dict[str, int] = {}
    for employee_id, (spec, title) in enumerate(places, start=1):
        login = fixed.pop((spec.code, title), None)
        is_manager = employee_id <= len(DEPARTMENTS)
        if is_manager:
            manager_id = manager_of[spec.parent] if spec.parent else None
        else:
            manager_id = manager_of[spec.code]
        if login is not None:
            first, last, email = login.first_name, login.last_name, login.email
            login_ids[login.email] = employee_id
        else:
            first, last = chance.first_name(), chance.last_name()
            email = emails.address(first, last, COMPANY_DOMAIN)
        name = f"{first} {last}"
        born = chance.day_before(today, (36 if is_manager else 21) * YEAR, 63 * YEAR)
        hired = _hired_on(chance, today, born, manager=is_manager, founder=employee_id == 1)
        data.employees.append(
            {
                "id": employee_id,
                "user_id": employee_id,
                "number": f"E{1000 + employee_id}",
                "name": name,
                "email": email,
                "job_title": title,
                "department_id": department_ids[spec.code],
                "manager_id": manager_id,
                "work_phone": f"{SWITCHBOARD} {2000 + employee_id}",
                "hired_on": hired,
                "private_address": chance.address(),
                "date_of_birth": born,
            }
        )
        data.users.append(
            {
                "id": employee_id,
                "email": email,
                "name": name,
                "kind": UserKind.STAFF,
                "language": None if login else ("en" if chance.chance(0.08) else "nl"),
                "avatar_url": None,
                "password_hash": password_hash,
                "is_active": True,
                "created_at": moment(max(hired, today - timedelta(days=PORTAL_AGE_DAYS)), 8, 30),
                "last_login_at": None,
            }
        )
        skills = chance.rng.sample(spec.skills, k=chance.between(2, min(5, len(spec.skills))))
        data.employee_skills += [
            {"id": len(data.employee_skills) + n, "employee_id": employee_id, "skill": skill}
            for n, skill in enumerate(skills, start=1)
        ]
        staff.append(StaffMember(employee_id, name, spec.code, title))
    if fixed:
        raise RuntimeError(f"no place in the company for demo logins {sorted(fixed)}")

    data.department_managers += [
        {"id": department_ids[code], "manager_id": employee_id}
        for code, employee_id in manager_of.items()
    ]
    _grant_roles(staff, login_ids[logins.ADMIN.email], data)
    return Organisation(tuple(staff), login_ids[logins.EMPLOYEE.email])


def _hired_on(chance: Chance, today: date, born: date, *, manager: bool, founder: bool) -> date:
    """Most people joined in the last few years, some long ago, nobody before turning 18;
    managers have been around longer."""
    earliest = born + timedelta(days=18 * YEAR)
    if founder:
        return max(earliest, today - timedelta(days=19 * YEAR + chance.between(0, 200)))
    mean_years = 9 if manager else 5
    days = min(int(chance.rng.expovariate(1 / (mean_years * YEAR))) + 20, 30 * YEAR)
    return max(earliest, today - timedelta(days=days))


def _grant_roles(staff: list[StaffMember], admin_id: int, data: DemoData) -> None:
    """The admin login, the HR manager, and one communication adviser get their roles."""
    hr_manager = next(m for m in staff if m.department == HR and m.id <= len(DEPARTMENTS))
    adviser = next(
        m for m in staff if m.department == MARKETING and m.title == "Communicatieadviseur"
    )
    data.user_roles += [{"user_id": admin_id, "role": role} for role in sorted(logins.ADMIN.roles)]
    data.user_roles += [
        {"user_id": hr_manager.id, "role": Role.HR},
        {"user_id": adviser.id, "role": Role.COMMUNICATION},
    ]
