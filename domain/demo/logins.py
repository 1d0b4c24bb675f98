"""The four fixed demo logins, one per kind of visitor, all with the same password.

They are written down here, apart from the builders that place them in the company, because the
README, the sign-in page's demo hint and the end-to-end tests all need the same addresses.
Their ``language`` is left unset so that each follows the visitor's browser.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.people.models import Role, UserKind

DEMO_PASSWORD = "atrium-demo"  # noqa: S105 - published, for demo databases only


@dataclass(frozen=True)
class DemoLogin:
    email: str
    first_name: str
    last_name: str
    kind: UserKind
    roles: frozenset[Role] = frozenset()

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


# An employee in ICT who runs the portal: its ICT manager.
ADMIN = DemoLogin("admin@example.com", "Anna", "de Vries", UserKind.STAFF, frozenset({Role.ADMIN}))
# A project leader in Projecten & Services, manager of several projects and member of others.
EMPLOYEE = DemoLogin("employee@example.com", "Daan", "Jansen", UserKind.STAFF)
# The buyer at a customer with projects and open, paid and overdue invoices.
CUSTOMER = DemoLogin("customer@example.com", "Lotte", "Hendriks", UserKind.CUSTOMER)
# The project coordinator at an installation partner working on several projects.
PARTNER = DemoLogin("partner@example.com", "Mark", "de Graaf", UserKind.PARTNER)

DEMO_LOGINS = (ADMIN, EMPLOYEE, CUSTOMER, PARTNER)
