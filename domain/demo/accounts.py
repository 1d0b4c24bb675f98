"""Customer and partner accounts with their contacts, and the customer and partner logins.

Company names are composed here from Faker's Dutch surnames and place names with a trade and a
legal form ("Bakker Installatietechniek B.V."), not taken from Faker's ``company()``: a quarter of
its Dutch names are real large companies (Shell, ASML, KLM), which a demo should not invoice.

Most customers are Dutch, some Belgian or German. How big a customer is shows in its credit
limit, and the invoices follow that: ``Relations.customers`` carries a weight per customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from domain.demo import logins
from domain.demo.chance import Chance
from domain.demo.departments import ACCOUNT_MANAGER_TITLES
from domain.demo.identifiers import EmailBook, company_domain, vat_number
from domain.demo.organisation import Organisation
from domain.demo.rows import DemoData, Row, moment, words
from domain.records.relations import AccountType

_CITIES = {
    "BE": ("Antwerpen", "Gent", "Mechelen", "Hasselt", "Brugge", "Leuven", "Turnhout", "Genk"),
    "DE": ("Düsseldorf", "Köln", "Aachen", "Duisburg", "Münster", "Kleve", "Emmerich am Rhein"),
}
_LEGAL_FORMS = {"NL": ("B.V.", "B.V.", "B.V.", "V.O.F.", ""), "BE": ("BV", "NV"), "DE": ("GmbH",)}
_GERMAN_TRADES = ("Logistik", "Metallbau", "Verpackungen", "Haustechnik", "Baustoffe", "Handel")


@dataclass(frozen=True)
class _Kind:
    """How one kind of account is made up."""

    type: AccountType
    count: int
    first_code: int
    countries: tuple[tuple[str, ...], tuple[int, ...]]
    trades: tuple[str, ...]
    titles: tuple[str, ...]  # contacts' job titles; the login's contact has the first
    contacts: tuple[tuple[int, ...], tuple[int, ...]]
    # Credit limits in cents and their weights; the login's account has the first.
    credit_limits: tuple[tuple[int, ...], tuple[int, ...]]
    login: logins.DemoLogin
    login_account: tuple[str, str]  # name and city, fixed for the README


_CUSTOMERS = _Kind(
    type=AccountType.CUSTOMER,
    count=220,
    first_code=10001,
    countries=(("NL", "BE", "DE"), (88, 8, 4)),
    trades=words(
        "Bouw; Installatietechniek; Metaalbewerking; Elektrotechniek; Transport; Logistiek; "
        "Kunststoffen; Meubelmakerij; Drukkerij; Voedingsmiddelen; Bloemen & Planten; "
        "Tuincentrum; Bakkerij; Schoonmaakdiensten; Verpakkingen; Koeltechniek; "
        "Interieurbouw; Machinebouw; Groenvoorziening; Dierenvoeding; Tweewielers; "
        "Webwinkel; Bouwmaterialen; Sanitair; Zonnepanelen"
    ),
    titles=words(
        "Inkoper; Hoofd inkoop; Directeur; Eigenaar; Office manager; "
        "Financieel administrateur; Hoofd logistiek; Magazijnchef; Facilitair manager; "
        "Operationeel manager; Projectleider"
    ),
    contacts=((1, 2, 3, 4), (3, 4, 2, 1)),
    # EUR 50,000 for the login's account; otherwise EUR 2,500 to 250,000, mostly small.
    credit_limits=(
        (5_000_000, 250_000, 500_000, 1_000_000, 1_500_000, 2_500_000, 10_000_000, 25_000_000),
        (10, 10, 20, 25, 15, 12, 6, 2),
    ),
    login=logins.CUSTOMER,
    login_account=("Hendriks Bouw & Techniek B.V.", "Amersfoort"),
)
_PARTNERS = _Kind(
    type=AccountType.PARTNER,
    count=24,
    first_code=20001,
    countries=(("NL", "BE", "DE"), (80, 10, 10)),
    trades=words(
        "Stellingbouw; Installatietechniek; Transport; ICT Solutions; Elektrotechniek; "
        "Heftrucks; Koeltechniek; Verpakkingsmachines; Beveiliging; Software"
    ),
    titles=words(
        "Projectcoördinator; Directeur; Werkvoorbereider; Accountmanager; Planner; "
        "Servicecoördinator"
    ),
    contacts=((1, 2, 3), (1, 1, 1)),
    credit_limits=((0,), (1,)),
    login=logins.PARTNER,
    login_account=("De Graaf Installatietechniek B.V.", "Zwolle"),
)


@dataclass(frozen=True)
class Customer:
    id: int
    name: str
    city: str
    # How much business it does with the company, relative to the others.
    weight: float


@dataclass(frozen=True)
class Relations:
    customers: tuple[Customer, ...]
    partner_ids: tuple[int, ...]
    customer_login_account_id: int
    partner_login_account_id: int


def build_accounts(
    chance: Chance, today: date, password_hash: str, org: Organisation, data: DemoData
) -> Relations:
    """Add customer and partner accounts, their contacts and the two external logins.

    Customers are looked after by the sales department, partners by purchasing.
    """
    book = _Book(chance, today, password_hash, data)
    sales = [m.id for m in org.with_titles(ACCOUNT_MANAGER_TITLES)]
    customers = [
        Customer(row["id"], row["name"], row["city"], row["credit_limit_cents"] ** 0.5)
        for row in book.add(_CUSTOMERS, sales)
    ]
    partners = [row["id"] for row in book.add(_PARTNERS, [m.id for m in org.in_department("INK")])]
    return Relations(tuple(customers), tuple(partners), customers[0].id, partners[0])


class _Book:
    """Adds accounts with their contacts, keeping names and e-mail addresses unique."""

    def __init__(self, chance: Chance, today: date, password_hash: str, data: DemoData) -> None:
        self.chance, self.today, self.password_hash, self.data = chance, today, password_hash, data
        self.emails = EmailBook()
        self.names: set[str] = set()

    def add(self, kind: _Kind, managers: list[int]) -> list[Row]:
        """Add ``kind.count`` accounts, the login's first; return their rows."""
        chance, data = self.chance, self.data
        added: list[Row] = []
        for n in range(kind.count):
            is_login = n == 0
            if is_login:
                country, (name, city) = "NL", kind.login_account
                self.names.add(name)
                credit_limit = kind.credit_limits[0][0]
                people = max(kind.contacts[0])
            else:
                country = chance.weighted(*kind.countries)
                name, city = self._company(country, kind.trades)
                credit_limit = chance.weighted(*kind.credit_limits)
                people = chance.weighted(*kind.contacts)
            account_id = len(data.accounts) + 1
            row: Row = {
                "id": account_id,
                "code": f"{kind.type.value[0].upper()}{kind.first_code + n}",
                "name": name,
                "type": kind.type,
                "city": city,
                "country": country,
                "vat_number": vat_number(chance, country),
                "credit_limit_cents": credit_limit,
                "account_manager_id": chance.pick(managers),
            }
            data.accounts.append(row)
            added.append(row)
            domain = company_domain(name, country)
            for person in range(people):
                if is_login and person == 0:
                    self._login_contact(kind, account_id)
                    continue
                first, last = chance.first_name(), chance.last_name()
                self._contact(
                    account_id,
                    None,
                    f"{first} {last}",
                    self.emails.address(first, last, domain),
                    chance.pick(kind.titles),
                )
        return added

    def _company(self, country: str, trades: tuple[str, ...]) -> tuple[str, str]:
        """A company name not used before, and its city."""
        chance = self.chance
        while True:
            city = chance.city() if country == "NL" else chance.pick(_CITIES[country])
            trade = chance.pick(_GERMAN_TRADES if country == "DE" else trades)
            family = chance.last_name()
            family = family[0].upper() + family[1:]
            shape = chance.between(1, 10)
            if shape <= 6:
                core = f"{family} {trade}"
            elif shape <= 8:
                core = f"{family} & {chance.last_name()}"
            else:
                core = f"{trade} {city}"
            name = f"{core} {chance.pick(_LEGAL_FORMS[country])}".strip()
            if name not in self.names:
                self.names.add(name)
                return name, city

    def _login_contact(self, kind: _Kind, account_id: int) -> None:
        login = kind.login
        user_id = len(self.data.users) + 1
        self.data.users.append(
            {
                "id": user_id,
                "email": login.email,
                "name": login.name,
                "kind": login.kind,
                "language": None,
                "avatar_url": None,
                "password_hash": self.password_hash,
                "is_active": True,
                "created_at": moment(self.today - timedelta(days=self.chance.between(90, 300))),
                "last_login_at": None,
            }
        )
        self._contact(account_id, user_id, login.name, login.email, kind.titles[0])

    def _contact(
        self, account_id: int, user_id: int | None, name: str, email: str, job_title: str
    ) -> None:
        self.data.contacts.append(
            {
                "id": len(self.data.contacts) + 1,
                "account_id": account_id,
                "user_id": user_id,
                "name": name,
                "email": email,
                "phone": self.chance.phone(),
                "job_title": job_title,
            }
        )
