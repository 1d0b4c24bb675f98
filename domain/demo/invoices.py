"""Two years of invoices with their lines and payments, dated relative to the demo's ``today``.

Each customer has a payment term (14 or 30 days) and a payment habit: most pay on time, some are
slow, a few troublesome. An invoice's payments follow its customer's habit, and only payments dated
on or before ``today`` exist, so recent invoices are naturally still open, a slow payer's recent
invoices are overdue, and old ones are nearly all paid. The customer login's account also gets a
handful of invoices placed by hand, so that it always shows open, overdue and paid ones.

Totals are computed with the same helper the application uses (``line_total_cents``), and
``paid_cents`` is the sum of the payments written, so the stored sums agree with the rows.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta

from domain.demo.accounts import Relations
from domain.demo.catalogue import CatalogueItem
from domain.demo.chance import Chance
from domain.demo.projects import ProjectInfo
from domain.demo.rows import DemoData, business_day
from domain.records.invoicing import line_total_cents

INVOICES = 2400
HISTORY_DAYS = 730
# Older than this, an unpaid invoice has nearly always been paid late by now.
RECENT_DAYS = 180


class _Habit(enum.Enum):
    ON_TIME = "on time"
    LATE = "late"
    PARTIAL = "part first, the rest late"
    PARTIAL_STUCK = "part, and no more yet"
    UNPAID = "not yet"


_HABITS = (_Habit.ON_TIME, _Habit.LATE, _Habit.PARTIAL, _Habit.UNPAID)
# Weights of the habits above for prompt, slow and troublesome payers.
_PAYERS = ((90, 7, 2, 1), (55, 33, 7, 5), (35, 35, 15, 15))
_PAYER_WEIGHTS = (70, 20, 10)
_LINES = (1, 2, 3, 4, 5)
_LINE_WEIGHTS = (30, 28, 20, 13, 9)


@dataclass(frozen=True)
class _Plan:
    issue: date
    account_id: int
    habit: _Habit


def build_invoices(
    chance: Chance,
    today: date,
    relations: Relations,
    items: tuple[CatalogueItem, ...],
    projects: tuple[ProjectInfo, ...],
    data: DemoData,
) -> None:
    login_account = relations.customer_login_account_id
    terms = {c.id: chance.pick((14, 30, 30)) for c in relations.customers}
    payers = {c.id: chance.weighted(_PAYERS, _PAYER_WEIGHTS) for c in relations.customers}
    terms[login_account], payers[login_account] = 30, _PAYERS[1]

    plans = _hand_placed(today, login_account)
    customers = relations.customers
    weights = [c.weight for c in customers]
    while len(plans) < INVOICES:
        issue = business_day(chance.day_before(today, 0, HISTORY_DAYS - 1))
        account_id = chance.weighted(customers, weights).id
        habit = chance.weighted(_HABITS, payers[account_id])
        plans.append(_Plan(issue, account_id, habit))
    order = sorted(range(len(plans)), key=lambda n: (plans[n].issue, n))

    goods = [item for item in items if not item.is_service]
    services = [item for item in items if item.is_service]
    projects_of: dict[int, list[ProjectInfo]] = {}
    for info in projects:
        projects_of.setdefault(info.account_id, []).append(info)
    per_year: dict[int, int] = {}
    for invoice_id, n in enumerate(order, start=1):
        plan = plans[n]
        per_year[plan.issue.year] = per_year.get(plan.issue.year, 0) + 1
        running = [
            p
            for p in projects_of.get(plan.account_id, ())
            if p.start_date <= plan.issue <= p.end_date + timedelta(days=30)
        ]
        project = chance.pick(running) if running and chance.chance(0.65) else None
        service_share = 0.7 if project else 0.15
        chosen: dict[int, CatalogueItem] = {}
        for _ in range(chance.weighted(_LINES, _LINE_WEIGHTS)):
            item = chance.pick(services if chance.chance(service_share) else goods)
            chosen.setdefault(item.id, item)
        total = 0
        for item in chosen.values():
            quantity = chance.between(*item.quantity)
            total += line_total_cents(quantity, item.price_cents, item.vat_rate_bp)
            data.invoice_lines.append(
                {
                    "id": len(data.invoice_lines) + 1,
                    "invoice_id": invoice_id,
                    "item_id": item.id,
                    "description": item.description,
                    "quantity": quantity,
                    "unit_price_cents": item.price_cents,
                    "vat_rate_bp": item.vat_rate_bp,
                }
            )
        due = plan.issue + timedelta(days=terms[plan.account_id])
        paid = 0
        for paid_on, amount in _payments(chance, today, plan, due, total):
            paid += amount
            data.payments.append(
                {
                    "id": len(data.payments) + 1,
                    "invoice_id": invoice_id,
                    "paid_on": paid_on,
                    "amount_cents": amount,
                }
            )
        data.invoices.append(
            {
                "id": invoice_id,
                "number": f"INV-{plan.issue.year}-{per_year[plan.issue.year]:05d}",
                "account_id": plan.account_id,
                "project_id": project.id if project else None,
                "currency": "EUR",
                "issue_date": plan.issue,
                "due_date": due,
                "total_cents": total,
                "paid_cents": paid,
            }
        )


def _hand_placed(today: date, account_id: int) -> list[_Plan]:
    """Open, overdue, part-paid and paid invoices for the customer login (30-day terms)."""
    return [
        _Plan(business_day(today - timedelta(days=days)), account_id, habit)
        for days, habit in (
            (2, _Habit.UNPAID),  # open
            (12, _Habit.UNPAID),  # open
            (45, _Habit.UNPAID),  # overdue
            (70, _Habit.PARTIAL_STUCK),  # overdue, partly paid
            (120, _Habit.ON_TIME),  # paid
        )
    ]


def _payments(
    chance: Chance, today: date, plan: _Plan, due: date, total: int
) -> list[tuple[date, int]]:
    """The payments made on or before ``today`` for one invoice."""
    term = (due - plan.issue).days
    habit = plan.habit
    old = (today - plan.issue).days > RECENT_DAYS
    if habit is _Habit.UNPAID and old and chance.chance(0.85):
        planned = [(chance.day_after(due, 60, 150), total)]
    elif habit is _Habit.ON_TIME:
        planned = [(chance.day_after(plan.issue, 2, term), total)]
    elif habit is _Habit.LATE:
        planned = [(chance.day_after(due, 3, 75), total)]
    elif habit in (_Habit.PARTIAL, _Habit.PARTIAL_STUCK):
        first = min(total - 1, max(1, int(round(total * chance.rng.uniform(0.3, 0.7), -2))))
        planned = [(chance.day_after(plan.issue, 5, term), first)]
        if habit is _Habit.PARTIAL:
            planned.append((chance.day_after(due, 15, 120), total - first))
    else:
        planned = []
    return [(day, amount) for day, amount in planned if day <= today]
