"""What the demo company sells: wholesale goods and the services around them.

Prices are list prices in cents excluding VAT. Food and drink for canteens carry the low Dutch VAT
rate (9 %); everything else, cups and napkins included, the standard 21 %. Each item also says how
many of it a customer typically orders on one invoice line, so that lines look like real orders
(200 pallets, 12 months of a service contract, one workshop) rather than random numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.demo.rows import DemoData

STANDARD_VAT = 2100
LOW_VAT = 900


@dataclass(frozen=True)
class CatalogueItem:
    id: int
    code: str
    description: str
    unit: str
    price_cents: int
    vat_rate_bp: int
    is_service: bool
    # The range of quantities one invoice line orders, both ends included.
    quantity: tuple[int, int]


# (code prefix, unit default, VAT, service?, quantity range, [(description, price, unit or "")])
_Family = tuple[str, str, int, bool, tuple[int, int], tuple[tuple[str, int, str], ...]]

_FAMILIES: tuple[_Family, ...] = (
    (
        "PAL",
        "stuk",
        STANDARD_VAT,
        False,
        (10, 200),
        (
            ("Europallet 1200x800 mm EPAL, nieuw", 1650, ""),
            ("Europallet 1200x800 mm, gebruikt klasse A", 950, ""),
            ("Europallet 1200x800 mm, gebruikt klasse B", 700, ""),
            ("Blokpallet 1200x1000 mm, nieuw", 1895, ""),
            ("Blokpallet 1200x1000 mm, gebruikt", 1150, ""),
            ("Wegwerppallet 1200x800 mm", 595, ""),
            ("Kunststof pallet 1200x800 mm, hygiënisch", 6450, ""),
            ("Kunststof pallet 1200x1000 mm, nestbaar", 4250, ""),
            ("Halve pallet 800x600 mm (Düsseldorfer)", 890, ""),
            ("Palletopzetrand 1200x800 mm, hout", 1295, ""),
            ("Palletboxdeksel 1200x800 mm", 1095, ""),
            ("Gitterbox 1240x835x970 mm, gebruikt", 14900, ""),
        ),
    ),
    (
        "VRP",
        "pak",
        STANDARD_VAT,
        False,
        (5, 120),
        (
            ("Kartonnen doos 200x150x100 mm, enkelgolf (50 st.)", 1590, ""),
            ("Kartonnen doos 305x215x110 mm, enkelgolf (25 st.)", 1290, ""),
            ("Kartonnen doos 400x300x300 mm, dubbelgolf (20 st.)", 2450, ""),
            ("Kartonnen doos 600x400x400 mm, dubbelgolf (10 st.)", 2190, ""),
            ("Verhuisdoos 480x320x360 mm (10 st.)", 1750, ""),
            ("Archiefdoos A4 (50 st.)", 3450, ""),
            ("Brievenbusdoos A4, wit (50 st.)", 1995, ""),
            ("Rekwikkelfolie 23 my, 500 mm x 300 m", 1450, "rol"),
            ("Rekwikkelfolie machinerol 17 my, 500 mm x 1500 m", 3990, "rol"),
            ("Handwikkelfolie zwart 23 my, 500 mm x 300 m", 1590, "rol"),
            ("Noppenfolie 100 cm x 100 m", 2750, "rol"),
            ("Tape PP 50 mm x 66 m, bruin (36 rollen)", 3990, "doos"),
            ("Tape PVC 50 mm x 66 m, transparant (36 rollen)", 5490, "doos"),
            ("Tape 'Breekbaar' 50 mm x 66 m (36 rollen)", 4990, "doos"),
            ("Omsnoeringsband PP 12 mm x 3000 m", 4390, "rol"),
            ("Omsnoeringsband PET 16 mm x 1200 m", 5790, "rol"),
            ("Hoekbeschermer karton 35x35x1200 mm (100 st.)", 3490, ""),
            ("Paklijstenveloppe A5 (1000 st.)", 2890, "doos"),
            ("Vulchips, 500 liter", 2490, "zak"),
            ("Opvulpapier 70 g/m², 50 cm x 300 m", 3290, "rol"),
            ("Kraftpapier 70 g/m², 100 cm x 250 m", 5190, "rol"),
            ("Schuimfolie 2 mm, 120 cm x 250 m", 3890, "rol"),
            ("Luchtkussenfolie 200x100 mm, 1 rol", 4590, "rol"),
            ("Big bag 90x90x110 cm, 1000 kg", 1195, "stuk"),
            ("Gripzakjes 100x150 mm (1000 st.)", 1490, "doos"),
            ("Stretchkap 1200x800x1800 mm (100 st.)", 7890, "doos"),
        ),
    ),
    (
        "GER",
        "stuk",
        STANDARD_VAT,
        False,
        (1, 12),
        (
            ("Palletwagen 2500 kg, vorklengte 1150 mm", 34900, ""),
            ("Palletwagen met weegschaal 2000 kg", 79500, ""),
            ("Steekwagen 250 kg, luchtbanden", 8950, ""),
            ("Trapsteekwagen 200 kg", 18900, ""),
            ("Platformwagen 900x600 mm, 300 kg", 12400, ""),
            ("Handwikkelaar voor rekwikkelfolie", 2490, ""),
            ("Tapedispenser 50 mm, professioneel", 1195, ""),
            ("Omsnoeringsspanner voor PP-band", 6850, ""),
            ("Sluitzegeltang voor omsnoeringsband", 5450, ""),
            ("Veiligheidsmes, automatisch terugverend", 895, ""),
            ("Reservemesjes voor veiligheidsmes (10 st.)", 495, "doos"),
            ("Handscanner 2D, draadloos", 24900, ""),
            ("Etikettenprinter thermisch 104 mm", 39900, ""),
            ("Veiligheidstrap 6 treden, aluminium", 16900, ""),
            ("Rolcontainer 720x800x1600 mm", 18500, ""),
            ("Magazijnstelling 2000x1000x500 mm, 5 legborden", 14950, ""),
            ("Palletstelling staander 3000 mm", 8900, ""),
            ("Palletstelling liggers 2700 mm (paar)", 7450, ""),
            ("Aanrijbeveiliging staander, geel", 4950, ""),
            ("Platformweegschaal 150 kg", 11900, ""),
        ),
    ),
    (
        "VBR",
        "pak",
        STANDARD_VAT,
        False,
        (5, 60),
        (
            ("Werkhandschoenen nitril, maat 9 (12 paar)", 1850, ""),
            ("Werkhandschoenen nitril, maat 10 (12 paar)", 1850, ""),
            ("Wegwerphandschoenen nitril blauw (100 st.)", 695, "doos"),
            ("Veiligheidsbril helder, EN 166", 450, "stuk"),
            ("Gehoorkap SNR 30 dB", 1495, "stuk"),
            ("Veiligheidshesje geel, maat XL", 395, "stuk"),
            ("Thermische etiketten 100x150 mm (500 st.)", 895, "rol"),
            ("Thermische etiketten 100x50 mm (1000 st.)", 795, "rol"),
            ("Thermisch transferlint wax 110 mm x 300 m", 1450, "rol"),
            ("Palletetiket 'Niet stapelen' (500 st.)", 1490, "rol"),
            ("Vloermarkeringstape geel 50 mm x 33 m", 1290, "rol"),
            ("Vloermarkeringstape geel/zwart 50 mm x 33 m", 1390, "rol"),
            ("Printpapier A4 80 g/m² (5 x 500 vel)", 2950, "doos"),
            ("Permanent marker zwart (12 st.)", 1190, "doos"),
            ("Poetsrol 2-laags, 1000 vel", 2190, "rol"),
            ("Handreiniger 3 liter", 1590, "stuk"),
            ("Vuilniszakken 120 liter (200 st.)", 3890, "doos"),
            ("Absorptiekorrels 20 liter", 2290, "zak"),
            ("Batterijen AA alkaline (40 st.)", 1690, ""),
            ("Kabelbinders 300x4,8 mm (100 st.)", 495, ""),
            ("Desinfecterende doekjes (200 st.)", 895, ""),
        ),
    ),
    (
        "KNT",
        "stuk",
        LOW_VAT,
        False,
        (2, 40),
        (
            ("Koffiebonen espresso, 1 kg", 1795, "zak"),
            ("Koffiebonen biologisch fairtrade, 1 kg", 2195, "zak"),
            ("Filterkoffie snelfilter, 500 g", 795, "pak"),
            ("Thee assortiment (6 x 25 zakjes)", 1295, "doos"),
            ("Suikersticks 4 g (1000 st.)", 1495, "doos"),
            ("Koffiemelkcups 7,5 g (240 st.)", 1395, "doos"),
            ("Koekjes assortiment (150 st.)", 2495, "doos"),
            ("Mineraalwater plat 0,5 l (24 flessen)", 795, "tray"),
            ("Mineraalwater bruisend 0,5 l (24 flessen)", 795, "tray"),
            ("Cola 0,33 l (24 blikjes)", 1695, "tray"),
            ("Appelsap 0,2 l (24 pakjes)", 1195, "tray"),
            ("Chocolademelkpoeder voor automaten, 1 kg", 1095, "zak"),
        ),
    ),
    (
        "KNR",
        "doos",
        STANDARD_VAT,
        False,
        (2, 30),
        (
            ("Koffiebekers karton 180 ml (1000 st.)", 2990, ""),
            ("Roerstaafjes hout (1000 st.)", 395, ""),
            ("Servetten 33x33 cm, 2-laags (500 st.)", 895, ""),
        ),
    ),
    (
        "DNS",
        "uur",
        STANDARD_VAT,
        True,
        (4, 40),
        (
            ("Advies logistiek, per uur", 11500, ""),
            ("Consultancy magazijninrichting, senior, per uur", 13500, ""),
            ("Projectmanagement, per uur", 12000, ""),
            ("Installatie magazijnstellingen, per uur", 7950, ""),
            ("Montage palletstellingen, per uur", 7500, ""),
            ("Servicemonteur, per uur", 8250, ""),
            ("Data-analyse voorraad en doorlooptijden, per uur", 12500, ""),
            ("Co-packing, per uur", 4850, ""),
        ),
    ),
    (
        "SRV",
        "stuk",
        STANDARD_VAT,
        True,
        (1, 12),
        (
            ("Voorrijkosten servicemonteur", 6500, ""),
            ("Stellinginspectie NEN-EN 15635, per sectie", 1250, "sectie"),
            ("Keuring palletwagen of steekwagen", 3500, ""),
            ("Servicecontract Basis, per maand", 19500, "maand"),
            ("Servicecontract Plus, per maand", 39500, "maand"),
            ("Supportcontract WMS-koppeling, per jaar", 480000, "jaar"),
            ("Licentie scanoplossing, per gebruiker per maand", 2450, "gebruiker"),
            ("Training veilig werken met de heftruck, per deelnemer", 29500, "deelnemer"),
            ("Training orderpicken en ergonomie, per dag", 145000, "dag"),
            ("Workshop verpakkingsoptimalisatie, per dagdeel", 85000, "dagdeel"),
            ("Transport per pallet, binnen Nederland", 3950, "pallet"),
            ("Transport per pallet, naar België of Duitsland", 6450, "pallet"),
            ("Spoedlevering op dezelfde dag", 9500, ""),
            ("Opslag per palletplaats, per week", 450, "palletplaats"),
            ("Retourverwerking, per order", 650, "order"),
            ("Afvoer en recycling van verpakkingsmateriaal, per m³", 2850, "m³"),
            ("Implementatie scanoplossing, vaste prijs", 650000, ""),
            ("Ontwerp magazijnlayout, tekening en advies", 245000, ""),
        ),
    ),
)

# Services sold by the piece whose quantity is nearly always one.
_ONE_OFF = (
    "Supportcontract",
    "Implementatie",
    "Ontwerp",
    "Spoedlevering",
    "Training orderpicken",
    "Workshop",
)


def catalogue() -> tuple[CatalogueItem, ...]:
    """The whole catalogue, ids from 1 in the order listed above."""
    items: list[CatalogueItem] = []
    for prefix, unit, vat, service, quantity, entries in _FAMILIES:
        for n, (description, price, own_unit) in enumerate(entries, start=1):
            one_off = description.startswith(_ONE_OFF)
            items.append(
                CatalogueItem(
                    id=len(items) + 1,
                    code=f"{prefix}-{n:03d}",
                    description=description,
                    unit=own_unit or unit,
                    price_cents=price,
                    vat_rate_bp=vat,
                    is_service=service,
                    quantity=(1, 2) if one_off else quantity,
                )
            )
    return tuple(items)


def build_items(data: DemoData) -> tuple[CatalogueItem, ...]:
    items = catalogue()
    data.items += [
        {
            "id": item.id,
            "code": item.code,
            "description": item.description,
            "unit": item.unit,
            "price_cents": item.price_cents,
            "vat_rate_bp": item.vat_rate_bp,
        }
        for item in items
    ]
    return items
