"""Customer projects: their teams, partners, budgets, and dates that agree with their status.

A completed or cancelled project ended in the past, a planned one starts in the future, an active
or on-hold one started and has not ended yet. Codes number projects per year of their start date,
in start order ("PRJ-2025-007"), so ids and codes run in the same order.

The first few projects are placed by hand so that every demo login has something to look at:
the customer login's account has a project in four different states, the employee login leads
four projects and works on three more, and the partner login's account partners on four.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from domain.demo.accounts import Relations
from domain.demo.chance import Chance
from domain.demo.departments import DEPARTMENTS, PROJECT_MANAGER_TITLES
from domain.demo.identifiers import strip_legal_form
from domain.demo.organisation import Organisation
from domain.demo.rows import DemoData
from domain.records.projects import ProjectStatus

_STATUS_COUNTS = {
    ProjectStatus.ACTIVE: 24,
    ProjectStatus.COMPLETED: 22,
    ProjectStatus.PLANNED: 10,
    ProjectStatus.ON_HOLD: 8,
    ProjectStatus.CANCELLED: 6,
}
# How often a department's people join a project team, relative to each other.
_TEAM_WEIGHTS = {"PRS": 6, "ICT": 3, "LOG": 2, "MAG": 2, "KS": 1, "FIN": 1, "INK": 1}

_TEMPLATES = (
    (
        "Herinrichting magazijn {city}",
        "Nieuwe indeling van het magazijn in {city}: stellingen, "
        "looproutes en pickzones, met zo min mogelijk stilstand.",
    ),
    (
        "Nieuwe palletstellingen hal {hall}",
        "Levering en montage van palletstellingen in hal "
        "{hall}, inclusief aanrijbeveiliging en keuring.",
    ),
    (
        "Implementatie handscanners",
        "Invoering van draadloze 2D-scanners bij ontvangst en orderpicking, gekoppeld aan het WMS.",
    ),
    (
        "Koppeling webshop met WMS",
        "Orders uit de webshop gaan automatisch naar het magazijn; de "
        "voorraad gaat direct terug naar de webshop.",
    ),
    (
        "Verpakkingsoptimalisatie",
        "Minder vulmateriaal en kleinere dozen: analyse van de "
        "verzendstromen en een nieuw verpakkingsassortiment.",
    ),
    (
        "Stellinginspectie {year}",
        "Inspectie van alle stellingen volgens NEN-EN 15635, met rapport en herstel van schades.",
    ),
    (
        "Onderhoud intern transport",
        "Periodiek onderhoud en keuring van palletwagens, steekwagens en heftrucks.",
    ),
    (
        "Uitbreiding opslagcapaciteit",
        "Meer palletplaatsen in de bestaande hal door hogere stellingen en smallere gangpaden.",
    ),
    (
        "Inrichting expeditieruimte",
        "Een nieuwe expeditieruimte met inpaktafels, wikkelmachine en "
        "een zone voor uitgaande zendingen.",
    ),
    (
        "Training magazijnpersoneel",
        "Trainingen veilig werken met de heftruck en ergonomisch orderpicken voor alle ploegen.",
    ),
    (
        "Duurzaam verpakken",
        "Plastic vulmateriaal vervangen door papier en gerecycled karton, met "
        "minder verpakkingsafval.",
    ),
    (
        "Vervanging palletwagens",
        "Vervanging van het verouderde park palletwagens, met inruil en afvoer van de oude.",
    ),
    (
        "Inrichting distributiecentrum {city}",
        "Volledige inrichting van het nieuwe "
        "distributiecentrum in {city}, van stellingen tot scanoplossing.",
    ),
    (
        "Lean-traject orderpicking",
        "Kortere looproutes en minder pickfouten, met de ploegleiders als trekkers.",
    ),
    (
        "Co-packing actieverpakkingen",
        "Samenstellen en verpakken van actieverpakkingen, inclusief opslag en transport.",
    ),
    (
        "Verhuizing magazijn naar {city}",
        "Planning en uitvoering van de verhuizing van voorraad en "
        "inrichting naar de nieuwe locatie in {city}.",
    ),
    (
        "Retourstraat",
        "Een aparte retourstraat met duidelijke werkinstructies en registratie per order.",
    ),
    (
        "Voorraadanalyse en herindeling",
        "Analyse van voorraad en doorlooptijden, gevolgd door een ABC-indeling van de pickzones.",
    ),
)


@dataclass(frozen=True)
class ProjectInfo:
    """What invoicing needs to know about a project."""

    id: int
    account_id: int
    start_date: date
    end_date: date
    status: ProjectStatus


@dataclass
class _Plan:
    account_id: int
    status: ProjectStatus
    manager_id: int
    extra_members: list[int] = field(default_factory=list)
    partner_ids: list[int] = field(default_factory=list)


def build_projects(
    chance: Chance, today: date, org: Organisation, relations: Relations, data: DemoData
) -> tuple[ProjectInfo, ...]:
    plans = _hand_placed(chance, org, relations)
    statuses = dict(_STATUS_COUNTS)
    for plan in plans:
        statuses[plan.status] -= 1
    remaining = [status for status, count in statuses.items() for _ in range(count)]
    chance.rng.shuffle(remaining)
    leaders = [
        m.id for m in org.with_titles(PROJECT_MANAGER_TITLES) if m.id != org.employee_login_id
    ]
    customers = relations.customers
    weights = [c.weight for c in customers]
    for status in remaining:
        partners = chance.weighted((0, 1, 2), (4, 4, 2))
        plans.append(
            _Plan(
                account_id=chance.weighted(customers, weights).id,
                status=status,
                manager_id=chance.pick(leaders),
                partner_ids=chance.rng.sample(relations.partner_ids, k=partners),
            )
        )

    dated = [(_dates(chance, today, plan.status), n, plan) for n, plan in enumerate(plans)]
    dated.sort(key=lambda entry: (entry[0][0], entry[1]))
    team_pool = [m for m in org.staff for _ in range(_TEAM_WEIGHTS.get(m.department, 0))]
    roles = {spec.code: spec.project_roles for spec in DEPARTMENTS}
    accounts = {row["id"]: row for row in data.accounts}
    per_year: dict[int, int] = {}
    projects: list[ProjectInfo] = []
    for project_id, ((start, end), _, plan) in enumerate(dated, start=1):
        per_year[start.year] = per_year.get(start.year, 0) + 1
        account = accounts[plan.account_id]
        template, description = chance.pick(_TEMPLATES)
        place = {"city": account["city"], "hall": chance.between(1, 6), "year": start.year}
        hours = chance.between(5, 200) * 8
        cost = hours * chance.pick((9500, 10500, 11500, 12500)) + chance.between(0, 50) * 100_000
        data.projects.append(
            {
                "id": project_id,
                "code": f"PRJ-{start.year}-{per_year[start.year]:03d}",
                "name": f"{template.format(**place)} – {strip_legal_form(account['name'])}",
                "account_id": plan.account_id,
                "manager_id": plan.manager_id,
                "status": plan.status,
                "description": description.format(**place),
                "start_date": start,
                "end_date": end,
                "budget_hours": hours,
                "budget_cents": round(cost, -4),
            }
        )
        team = {plan.manager_id: "Projectleider"}
        for employee_id in plan.extra_members:
            team.setdefault(employee_id, "Consultant")
        if chance.chance(0.5):
            team.setdefault(account["account_manager_id"], "Accountmanager")
        size = chance.between(2, 6)
        while len(team) < size:
            member = chance.pick(team_pool)
            team.setdefault(member.id, chance.pick(roles[member.department]))
        data.project_members += [
            {"project_id": project_id, "employee_id": employee_id, "role": role}
            for employee_id, role in team.items()
        ]
        data.project_partners += [
            {"project_id": project_id, "account_id": account_id} for account_id in plan.partner_ids
        ]
        projects.append(ProjectInfo(project_id, plan.account_id, start, end, plan.status))
    return tuple(projects)


def _hand_placed(chance: Chance, org: Organisation, relations: Relations) -> list[_Plan]:
    """The projects every demo login needs to see, before the random rest."""
    customer = relations.customer_login_account_id
    partner = relations.partner_login_account_id
    me = org.employee_login_id
    leaders = [m.id for m in org.with_titles(PROJECT_MANAGER_TITLES) if m.id != me]

    def other_customer() -> int:
        return chance.pick([c.id for c in relations.customers if c.id != customer])

    return [
        _Plan(customer, ProjectStatus.ACTIVE, me, partner_ids=[partner]),
        _Plan(customer, ProjectStatus.COMPLETED, me, partner_ids=[partner]),
        _Plan(customer, ProjectStatus.PLANNED, chance.pick(leaders), extra_members=[me]),
        _Plan(customer, ProjectStatus.ON_HOLD, chance.pick(leaders)),
        _Plan(other_customer(), ProjectStatus.ACTIVE, me, partner_ids=[partner]),
        _Plan(other_customer(), ProjectStatus.ACTIVE, me, partner_ids=[partner]),
        _Plan(other_customer(), ProjectStatus.COMPLETED, chance.pick(leaders), extra_members=[me]),
        _Plan(other_customer(), ProjectStatus.ACTIVE, chance.pick(leaders), extra_members=[me]),
    ]


def _dates(chance: Chance, today: date, status: ProjectStatus) -> tuple[date, date]:
    """A start and end date that agree with ``status`` on ``today``."""
    if status is ProjectStatus.PLANNED:
        start = chance.day_after(today, 7, 120)
        return start, chance.day_after(start, 30, 240)
    if status is ProjectStatus.COMPLETED:
        end = chance.day_before(today, 5, 400)
        return chance.day_before(end, 30, 300), end
    if status is ProjectStatus.CANCELLED:
        start = chance.day_before(today, 60, 600)
        return start, min(chance.day_after(start, 7, 90), today - timedelta(days=1))
    if status is ProjectStatus.ON_HOLD:
        return chance.day_before(today, 60, 400), chance.day_after(today, 30, 200)
    return chance.day_before(today, 7, 300), chance.day_after(today, 14, 240)
