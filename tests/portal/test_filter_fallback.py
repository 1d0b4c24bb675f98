"""At scale the account filter of a list stops offering a <select> of every account (thousands of
options per page view) and becomes a text field that still filters by account id."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from domain.demo import load_demo
from domain.records import lists
from domain.records.invoicing import Invoice
from tests.conftest import login


@pytest.fixture
async def staff(db, client):
    await load_demo(db, social=False)
    response = await login(client, "employee@example.com", "atrium-demo")
    assert response.status_code == 303
    return client


async def test_the_account_filter_is_a_select_while_accounts_are_few(staff):
    page = await staff.get("/records/invoices")
    assert page.status_code == 200
    assert re.search(r'<select id="filter-account"', page.text)


async def test_too_many_accounts_turn_the_filter_into_a_text_field(staff, db, monkeypatch):
    # The demo has 244 accounts with invoices; lowering the cap stands in for 20x the data.
    monkeypatch.setattr(lists, "MAX_OPTIONS", 10)
    everything = await staff.get("/records/invoices")
    assert everything.status_code == 200
    assert '<select id="filter-account"' not in everything.text
    assert 'id="filter-account"' in everything.text

    async with db.session() as session:
        account_id, number = (
            await session.execute(
                select(Invoice.account_id, Invoice.number).order_by(Invoice.id).limit(1)
            )
        ).one()
    filtered = await staff.get(f"/records/invoices?account={account_id}")
    assert filtered.status_code == 200
    assert f'value="{account_id}"' in filtered.text
    assert number in filtered.text
