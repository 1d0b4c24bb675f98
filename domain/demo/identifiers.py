"""E-mail addresses, web domains and VAT numbers in the shapes real ones have.

VAT numbers carry a valid check digit for their country (the Dutch RSIN "elfproef", Belgium's
modulo 97, Germany's ISO 7064 MOD 11,10), so a validator someone adds later accepts the demo data.
None of them belongs to a real company except by coincidence.
"""

from __future__ import annotations

import re
import unicodedata

from domain.demo.chance import Chance

# Legal forms dropped from a company's name before it becomes a domain.
_LEGAL_FORMS = re.compile(r"\b(b\.?v\.?|n\.?v\.?|v\.?o\.?f\.?|gmbh|bvba)$", re.IGNORECASE)


def ascii_slug(text: str, *, keep: str = "") -> str:
    """Lower-case ASCII letters and digits of ``text``; accents dropped, spaces removed, and any
    character in ``keep`` kept."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return "".join(c for c in plain if c.isascii() and (c.isalnum() or c in keep))


def email_local_part(first_name: str, last_name: str) -> str:
    """ "Merel", "van der Horst" -> "merel.vanderhorst", the way Dutch companies usually do it."""
    return f"{ascii_slug(first_name, keep='-')}.{ascii_slug(last_name, keep='-')}"


class EmailBook:
    """Hands out unique e-mail addresses per domain: a second Jan de Boer becomes jan.deboer2."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def reserve(self, address: str) -> None:
        self._taken.add(address.lower())

    def address(self, first_name: str, last_name: str, domain: str) -> str:
        local = email_local_part(first_name, last_name)
        candidate, n = f"{local}@{domain}", 1
        while candidate in self._taken:
            n += 1
            candidate = f"{local}{n}@{domain}"
        self._taken.add(candidate)
        return candidate


def strip_legal_form(name: str) -> str:
    """ "Hendriks Bouw & Techniek B.V." -> "Hendriks Bouw & Techniek"."""
    return _LEGAL_FORMS.sub("", name.strip()).strip()


def company_domain(name: str, country: str) -> str:
    """ "Hendriks Bouw & Techniek B.V." in NL -> "hendriks-bouw-techniek.nl"."""
    words = [ascii_slug(word) for word in strip_legal_form(name).split()]
    slug = "-".join(w for w in words if w)
    return f"{slug or 'bedrijf'}.{country.lower()}"


def vat_number(chance: Chance, country: str) -> str:
    if country == "NL":
        return _dutch_vat(chance)
    if country == "BE":
        return _belgian_vat(chance)
    if country == "DE":
        return _german_vat(chance)
    raise ValueError(f"no VAT number format for country {country!r}")


def _dutch_vat(chance: Chance) -> str:
    """NL + nine digits passing the elfproef + B01."""
    while True:
        digits = [chance.between(1, 9)] + [chance.between(0, 9) for _ in range(7)]
        check = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if check < 10:
            return "NL" + "".join(map(str, digits)) + str(check) + "B01"


def _belgian_vat(chance: Chance) -> str:
    """BE + ten digits: a leading 0 or 1, seven more, and 97 minus the first eight modulo 97."""
    base = chance.between(2_000_000, 19_999_999)
    return f"BE{base:08d}{97 - base % 97:02d}"


def _german_vat(chance: Chance) -> str:
    """DE + nine digits, the last an ISO 7064 MOD 11,10 check digit."""
    digits = [chance.between(1, 9)] + [chance.between(0, 9) for _ in range(7)]
    product = 10
    for digit in digits:
        total = (digit + product) % 10 or 10
        product = (2 * total) % 11
    check = (11 - product) % 10
    return "DE" + "".join(map(str, digits)) + str(check)
