"""The demo company's departments: their place in the tree, headcount, job titles and skills.

A department's people get the manager title once and the other titles in turn (a title listed
twice is held twice as often), so a 24-person warehouse is mostly order pickers, not 24 different
jobs. Parents come before their children, which the builders rely on for ids and reporting lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.demo.rows import words

COMPANY_NAME = "Van der Meer Groothandel B.V."
COMPANY_DOMAIN = "vandermeer-groothandel.nl"
# The switchboard of the head office in Nieuwegein; employees have an extension on it.
SWITCHBOARD = "+31 30 604"


@dataclass(frozen=True)
class DepartmentSpec:
    code: str
    name: str
    parent: str | None
    headcount: int
    manager_title: str
    titles: tuple[str, ...]
    skills: tuple[str, ...]
    # The roles its people take on in a customer project.
    project_roles: tuple[str, ...] = ()


BOARD = "DIR"
SALES = "VRK"
HR = "HR"
ICT = "ICT"
MARKETING = "MKT"
SERVICES = "PRS"

DEPARTMENTS: tuple[DepartmentSpec, ...] = (
    DepartmentSpec(
        code=BOARD,
        name="Directie",
        parent=None,
        headcount=4,
        manager_title="Algemeen directeur",
        titles=words("Commercieel directeur; Operationeel directeur; Directiesecretaresse"),
        skills=words(
            "Strategie; Leiderschap; Onderhandelen; Bedrijfsvoering; "
            "Stakeholdermanagement; Financieel inzicht"
        ),
        project_roles=words("Stuurgroeplid"),
    ),
    DepartmentSpec(
        code=SALES,
        name="Verkoop",
        parent=BOARD,
        headcount=16,
        manager_title="Salesmanager",
        titles=words(
            "Accountmanager; Senior accountmanager; Accountmanager; "
            "Binnendienstmedewerker verkoop; Key accountmanager; "
            "Accountmanager"
        ),
        skills=words(
            "Onderhandelen; Accountmanagement; CRM; Offertes maken; "
            "Relatiebeheer; Acquisitie; Duits; Frans; "
            "Productkennis verpakkingen"
        ),
        project_roles=words("Accountmanager"),
    ),
    DepartmentSpec(
        code="KS",
        name="Klantenservice",
        parent=SALES,
        headcount=12,
        manager_title="Teamleider klantenservice",
        titles=words(
            "Klantenservicemedewerker; Medewerker orderverwerking; "
            "Klantenservicemedewerker; Senior klantenservicemedewerker"
        ),
        skills=words(
            "Klantcontact; Orderverwerking; Klachtafhandeling; "
            "Exact Online; Telefonische vaardigheden; Duits; Engels"
        ),
        project_roles=words("Aanspreekpunt klantenservice"),
    ),
    DepartmentSpec(
        code="INK",
        name="Inkoop",
        parent=BOARD,
        headcount=8,
        manager_title="Hoofd inkoop",
        titles=words("Inkoper; Senior inkoper; Medewerker inkoopadministratie; Categorymanager"),
        skills=words(
            "Leveranciersmanagement; Onderhandelen; Contractbeheer; "
            "Voorraadbeheer; Aanbestedingen; Kwaliteitsborging"
        ),
        project_roles=words("Inkoper"),
    ),
    DepartmentSpec(
        code="LOG",
        name="Logistiek",
        parent=BOARD,
        headcount=10,
        manager_title="Manager logistiek",
        titles=words(
            "Transportplanner; Logistiek coördinator; Chauffeur; Chauffeur; Medewerker expeditie"
        ),
        skills=words("Transportplanning; Rijbewijs CE; Code 95; Routeplanning; ADR; Douanezaken"),
        project_roles=words("Logistiek adviseur; Planner"),
    ),
    DepartmentSpec(
        code="MAG",
        name="Magazijn",
        parent="LOG",
        headcount=24,
        manager_title="Teamleider magazijn",
        titles=words(
            "Orderpicker; Magazijnmedewerker; Heftruckchauffeur; "
            "Orderpicker; Medewerker goederenontvangst; "
            "Voorman magazijn"
        ),
        skills=words(
            "Heftruckcertificaat; Reachtruck; Orderpicken; Voorraadtelling; WMS; VCA; Handscanners"
        ),
        project_roles=words("Key-user magazijn"),
    ),
    DepartmentSpec(
        code="FIN",
        name="Financiën",
        parent=BOARD,
        headcount=10,
        manager_title="Hoofd financiën",
        titles=words(
            "Financieel administrateur; Medewerker debiteurenbeheer; "
            "Medewerker crediteurenadministratie; Controller; "
            "Financieel administrateur"
        ),
        skills=words(
            "Exact Online; Debiteurenbeheer; Jaarafsluiting; "
            "Btw-aangifte; Excel; Rapportage; Kredietbeheer"
        ),
        project_roles=words("Projectcontroller"),
    ),
    DepartmentSpec(
        code=HR,
        name="Personeelszaken",
        parent=BOARD,
        headcount=6,
        manager_title="HR-manager",
        titles=words("HR-adviseur; Salarisadministrateur; Recruiter; HR-assistent"),
        skills=words(
            "Arbeidsrecht; Verzuimbegeleiding; Werving en selectie; "
            "Salarisadministratie; AFAS; Gesprekstechnieken"
        ),
        project_roles=(),
    ),
    DepartmentSpec(
        code=ICT,
        name=ICT,
        parent=BOARD,
        headcount=12,
        manager_title="ICT-manager",
        titles=words(
            "Systeembeheerder; Applicatiebeheerder; Developer; "
            "ERP-consultant; Servicedeskmedewerker; Data-analist"
        ),
        skills=words(
            "Python; SQL; Microsoft 365; Netwerkbeheer; "
            "Informatiebeveiliging; ERP; Linux; Azure; Power BI"
        ),
        project_roles=words("Functioneel beheerder; Developer; Technisch specialist"),
    ),
    DepartmentSpec(
        code=MARKETING,
        name="Marketing & Communicatie",
        parent=BOARD,
        headcount=8,
        manager_title="Marketingmanager",
        titles=words(
            "Marketingmedewerker; Communicatieadviseur; "
            "Contentmarketeer; Grafisch ontwerper; Online marketeer"
        ),
        skills=words(
            "Copywriting; SEO; Social media; Adobe InDesign; "
            "Interne communicatie; Campagnes; Fotografie"
        ),
        project_roles=(),
    ),
    DepartmentSpec(
        code=SERVICES,
        name="Projecten & Services",
        parent=BOARD,
        headcount=20,
        manager_title="Manager projecten & services",
        titles=words(
            "Projectleider; Servicemonteur; Consultant; Monteur; "
            "Projectleider; Werkvoorbereider; Servicemonteur; "
            "Senior consultant"
        ),
        skills=words(
            "Projectmanagement; PRINCE2; Magazijninrichting; "
            "Stellingbouw; Installatie; Storingsanalyse; Planning; "
            "Klantcontact; VCA; Lean"
        ),
        project_roles=words("Consultant; Monteur; Werkvoorbereider; Planner"),
    ),
)

# Job titles whose holders may lead a customer project.
PROJECT_MANAGER_TITLES = frozenset(
    {
        "Manager projecten & services",
        "Projectleider",
        "Senior consultant",
        "ICT-manager",
        "ERP-consultant",
        "Applicatiebeheerder",
    }
)
# Job titles whose holders look after customer accounts.
ACCOUNT_MANAGER_TITLES = frozenset(
    {
        "Salesmanager",
        "Accountmanager",
        "Senior accountmanager",
        "Key accountmanager",
    }
)
