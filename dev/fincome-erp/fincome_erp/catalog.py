"""Reference data of the demo ERP: countries, plans, company names and hostile-but-valid text."""

from __future__ import annotations

from typing import Final, NamedTuple


class Country(NamedTuple):
    code: str
    currency: str
    tax_bp: int  # VAT rate in basis points
    postal: str  # "9" = a digit, "A" = a letter, anything else literal
    weight: int


COUNTRIES: Final = (
    Country("FR", "EUR", 2000, "99999", 30),
    Country("DE", "EUR", 1900, "99999", 14),
    Country("GB", "GBP", 2000, "AA9 9AA", 12),
    Country("US", "USD", 0, "99999", 14),
    Country("ES", "EUR", 2100, "99999", 6),
    Country("IT", "EUR", 2200, "99999", 5),
    Country("NL", "EUR", 2100, "9999 AA", 5),
    Country("BE", "EUR", 2100, "9999", 4),
    Country("CH", "CHF", 810, "9999", 4),
    Country("CA", "CAD", 500, "A9A 9A9", 3),
    Country("SE", "SEK", 2500, "999 99", 3),
)

#: Price multiplier per currency (list prices are in EUR cents).
FX: Final = {"EUR": 1.0, "USD": 1.1, "GBP": 0.85, "CHF": 0.95, "CAD": 1.5, "SEK": 11.0}


class Plan(NamedTuple):
    code: str
    label: str
    unit_cents: int  # EUR list price per unit and month
    max_units: int  # 1 = flat fee; more = per seat


PLANS: Final = (
    Plan("STARTER-M", "Starter plan", 4_900, 1),
    Plan("PRO-M", "Pro plan, per seat", 2_900, 25),
    Plan("BUSINESS-M", "Business plan", 99_000, 1),
    Plan("ENTERPRISE-M", "Enterprise plan", 450_000, 1),
)
PLAN_WEIGHTS: Final = (40, 35, 20, 5)

ADDONS: Final = (
    ("Extra storage 100 GB", 1_500),
    ("Premium support", 9_900),
    ("API calls pack 1M", 4_000),
)
ONE_OFFS: Final = (
    ("Onboarding package", 49_000, 1),
    ("Professional services (hours)", 12_000, 8),
    ("Training session", 75_000, 1),
    ("Data migration", 150_000, 1),
)

NAME_STARTS: Final = (
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell", "Cyberdyne", "Soylent",
    "Hooli", "Vandelay", "Wonka", "Gringotts", "Oceanic", "Aperture", "Black Mesa", "Monarch",
    "Nakatomi", "Pied Piper", "Massive Dynamic", "Blue Sun", "Duff", "Kerbal", "Virtucon",
    "Bluth", "Dunder", "Sirius", "Zorg", "Ollivander", "Prestige",
)  # fmt: skip
NAME_MIDDLES: Final = (
    "Analytics", "Logistics", "Software", "Foods", "Energy", "Robotics", "Media", "Capital",
    "Health", "Textiles", "Consulting", "Labs", "Systems", "Mobility", "Retail", "Studios",
)  # fmt: skip
SUFFIX_BY_COUNTRY: Final = {
    "FR": ("SAS", "SARL", "SA"),
    "DE": ("GmbH", "AG", "KG"),
    "GB": ("Ltd", "PLC", "LLP"),
    "US": ("Inc.", "LLC", "Corp."),
    "ES": ("S.L.", "S.A."),
    "IT": ("S.r.l.", "S.p.A."),
    "NL": ("B.V.", "N.V."),
    "BE": ("BV", "SA"),
    "CH": ("AG", "GmbH", "SA"),
    "CA": ("Inc.", "Ltd."),
    "SE": ("AB",),
}

#: Valid per the contract (no control characters, at most 200 characters), yet hostile to
#: naive code: quotes, SQL, CSV and COPY specials, markup, non-Latin scripts, emoji, long text.
HOSTILE_NAMES: Final = (
    "O'Reilly & Sons Ltd",
    'The "Quoted" Company',
    "Robert'); DROP TABLE customers;--",
    "1' OR '1'='1",
    "Comma, Semicolon; and Pipe | Co",
    "Back\\slash \\N Industries",
    "NULL",
    "\\.",
    "<script>alert('x')</script> SAS",
    "Müller & Söhne GmbH — Zürich",
    "株式会社テスト",
    "Компания Ромашка",
    'שלום בע"מ',
    "شركة الاختبار",
    "Ünïcødé ☃ 🚀 Startup",
    "Zalgo T̷e̷s̷t̷ Corp",
    "  Leading and trailing spaces  ",
    "%s %d {name} ${HOME} $(whoami)",
    "A" * 200,
    ("Very Long Name " * 14)[:200],
)
HOSTILE_DESCRIPTIONS: Final = (
    *HOSTILE_NAMES,
    "Line with a 'single' and \"double\" quote, a comma, and a backslash \\",
    "x" * 1000,
)


class Product(NamedTuple):
    code: str
    name: str


class CatalogPlan(NamedTuple):
    code: str
    name: str
    product: str
    billing_period: str  # MONTH, QUARTER, YEAR
    cents: int  # list price per billing period
    currency: str


PRODUCTS: Final = (
    Product("STARTER", "Starter"),
    Product("PRO", "Pro"),
    Product("BUSINESS", "Business"),
    Product("ENTERPRISE", "Enterprise"),
    Product("ADDON-STORAGE", "Extra storage"),
    Product("ADDON-SUPPORT", "Premium support"),
    Product("ADDON-API", "API calls pack"),
)
#: The price list: the monthly plans the contracts name (EUR list prices), yearly and
#: quarterly variants, a USD price and the add-ons.
CATALOG_PLANS: Final = (
    *(
        CatalogPlan(plan.code, plan.label, product, "MONTH", plan.unit_cents, "EUR")
        for plan, product in zip(PLANS, ("STARTER", "PRO", "BUSINESS", "ENTERPRISE"), strict=True)
    ),
    CatalogPlan("STARTER-Y", "Starter plan, yearly", "STARTER", "YEAR", 49_000, "EUR"),
    CatalogPlan("PRO-Y", "Pro plan, per seat, yearly", "PRO", "YEAR", 29_000, "EUR"),
    CatalogPlan("BUSINESS-Q", "Business plan, quarterly", "BUSINESS", "QUARTER", 282_000, "EUR"),
    CatalogPlan("ENTERPRISE-Y", "Enterprise plan, yearly", "ENTERPRISE", "YEAR", 4_860_000, "EUR"),
    CatalogPlan("PRO-M-USD", "Pro plan, per seat (USD)", "PRO", "MONTH", 3_200, "USD"),
    CatalogPlan("STORAGE-M", "Extra storage 100 GB", "ADDON-STORAGE", "MONTH", 1_500, "EUR"),
    CatalogPlan("SUPPORT-M", "Premium support", "ADDON-SUPPORT", "MONTH", 9_900, "EUR"),
    CatalogPlan("API-M", "API calls pack 1M", "ADDON-API", "MONTH", 4_000, "EUR"),
)
#: Why credit notes are issued.
CREDIT_REASONS: Final = (
    "Service outage",
    "Cancelled before the end of the period",
    "Billing error",
    "Goodwill gesture",
    "Downgrade",
    "Duplicate charge refunded",
)
