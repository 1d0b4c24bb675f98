"""The seeded sources of chance every demo builder draws from.

The demo company must come out the same on every run for the same day, so nothing here touches the
module-level ``random`` functions or Faker's shared class-level seed: one ``random.Random`` and one
Dutch Faker instance, both seeded from the same fixed number, are passed to each builder.

Faker supplies what it does well in Dutch: first names, surnames and place names. Its surname list
also holds medieval nobility ("Aelftrud van Wessex", "The Elder"); those are drawn again. Phone
numbers, streets, postcodes and house numbers are drawn here instead: Faker's ``nl_NL`` ones come
in shapes no Dutch person writes ("(006) 2027868", "Zakariabaan 0", "Jaylinnboulevard").
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta
from typing import TypeVar

from faker import Faker

from domain.demo.rows import words

T = TypeVar("T")

SEED = 20_250_101

# Area codes of towns around the company and the Randstad, for believable landline numbers.
_AREA_CODES = words(
    "10; 13; 20; 23; 24; 26; 30; 33; 35; 38; 40; 43; 50; 53; "
    "55; 70; 71; 73; 76; 79; 85; 88; 172; 318; 342; 348; 481"
)
# The most common Dutch street names.
_STREETS = words(
    "Kerkstraat; Schoolstraat; Molenstraat; Dorpsstraat; Molenweg; Julianastraat; "
    "Nieuwstraat; Beatrixstraat; Kastanjelaan; Wilhelminastraat; Stationsweg; Eikenlaan; "
    "Industrieweg; Sportlaan; Irenestraat; Oranjestraat; Parallelweg; Emmastraat; "
    "Lindelaan; Prins Bernhardstraat; Margrietstraat; Marktstraat; Vondelstraat; "
    "Beukenlaan; Kanaalweg; Dijkstraat; Raadhuisstraat; Populierenlaan; Brugstraat; "
    "Havenstraat; Tulpstraat; Rozenstraat; Berkenlaan; Prinses Irenelaan; Zuiderstraat; "
    "Hoofdstraat; Van Goghstraat; Rembrandtlaan; Burgemeester de Withstraat"
)
# Postcode letter pairs that PostNL never hands out.
_BANNED_POSTCODE_LETTERS = frozenset({"SA", "SD", "SS"})


class Chance:
    """A seeded ``random.Random`` plus a seeded Dutch Faker, with the few draws the demo needs."""

    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - repeatable on purpose, nothing secret
        self._fake = Faker("nl_NL")
        self._fake.seed_instance(seed)

    # --- plain chance -------------------------------------------------------------------------

    def pick(self, options: Sequence[T]) -> T:
        return self.rng.choice(options)

    def weighted(self, options: Sequence[T], weights: Sequence[float]) -> T:
        return self.rng.choices(options, weights=weights, k=1)[0]

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def between(self, low: int, high: int) -> int:
        """A whole number from ``low`` to ``high``, both included."""
        return self.rng.randint(low, high)

    def day_before(self, day: date, low: int, high: int) -> date:
        return day - timedelta(days=self.rng.randint(low, high))

    def day_after(self, day: date, low: int, high: int) -> date:
        return day + timedelta(days=self.rng.randint(low, high))

    # --- Dutch people and places --------------------------------------------------------------

    def first_name(self) -> str:
        return str(self._fake.first_name())

    def last_name(self) -> str:
        while True:
            name = str(self._fake.last_name())
            # "de Boer" and "van der Veen" have one capitalised word; "The Elder" has two.
            if "'" not in name and sum(w[:1].isupper() for w in name.split()) == 1:
                return name

    def city(self) -> str:
        return str(self._fake.city())

    def street(self) -> str:
        return self.pick(_STREETS)

    def postcode(self) -> str:
        letters = "SA"
        while letters in _BANNED_POSTCODE_LETTERS:
            letters = "".join(self.rng.choices("ABCDEFGHJKLMNPRSTVWXZ", k=2))
        return f"{self.rng.randint(1000, 9999)} {letters}"

    def address(self) -> str:
        """A Dutch home address on one line: "Lindelaan 12a, 3512 AB Utrecht"."""
        number = str(self.rng.randint(1, 240))
        if self.chance(0.12):
            number += self.pick(("a", "b", "-1", "-2", "bis"))
        return f"{self.street()} {number}, {self.postcode()} {self.city()}"

    def landline(self) -> str:
        area = self.pick(_AREA_CODES)
        digits = "".join(str(self.rng.randint(0, 9)) for _ in range(9 - len(area)))
        return f"0{area} {digits[:3]} {digits[3:]}"

    def mobile(self) -> str:
        return f"06 {self.rng.randint(10_000_000, 69_999_999)}"

    def phone(self) -> str:
        return self.mobile() if self.chance(0.45) else self.landline()
