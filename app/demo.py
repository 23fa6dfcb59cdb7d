"""A realistic Swedish demo dataset for `make run` (and `flask demo-data`).

Deterministic (seeded), so screenshots and demos look the same every time."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app.articles.models import Article
from app.auth.models import Role, Subgroup, User
from app.auth.services import create_user
from app.customers.models import ContactPerson, Customer, Facility, ServiceObject, Tag
from app.customfields.models import CustomFieldDefinition, CustomFieldEntity
from app.extensions import db
from app.i18n import local_today
from app.orders.models import (
    Action,
    ArticleRow,
    Comment,
    Order,
    OrderKind,
    OrderServiceObject,
    OrderStatus,
)
from app.orders.services import next_order_number

DEMO_PASSWORD = "demo1234"

COMPANY_WORDS = [
    "Bygg",
    "Mekaniska",
    "Fastighets",
    "Verkstads",
    "Kyl",
    "Ventilations",
    "Plåt",
    "Trä",
    "Lantbruks",
    "Transport",
    "Livsmedels",
    "Grus",
    "Maskin",
    "El",
    "VVS",
    "Åkeri",
]
PLACES = [
    ("Göteborg", "411 01"),
    ("Borås", "503 30"),
    ("Alingsås", "441 30"),
    ("Kungsbacka", "434 30"),
    ("Uddevalla", "451 50"),
    ("Trollhättan", "461 30"),
    ("Mölndal", "431 30"),
    ("Kungälv", "442 30"),
    ("Lerum", "443 30"),
    ("Stenungsund", "444 30"),
    ("Varberg", "432 41"),
    ("Jönköping", "553 20"),
    ("Halmstad", "302 42"),
    ("Skövde", "541 30"),
]
STREETS = [
    "Industrivägen",
    "Verkstadsgatan",
    "Storgatan",
    "Hamngatan",
    "Lagergatan",
    "Fabriksgatan",
    "Kvarngatan",
    "Sågverksvägen",
    "Smedjegatan",
    "Transportvägen",
]
FIRST = [
    "Anna",
    "Erik",
    "Maria",
    "Lars",
    "Karin",
    "Johan",
    "Eva",
    "Anders",
    "Sara",
    "Per",
    "Lena",
    "Mikael",
    "Emma",
    "Fredrik",
    "Linnea",
    "Oskar",
    "Ida",
    "Magnus",
]
LAST = [
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Pettersson",
    "Lindberg",
    "Berg",
    "Holm",
]
MACHINES = [
    ("ATLAS COPCO GA 10", "kompressor"),
    ("ATLAS COPCO GA 22 VSD", "kompressor"),
    ("KAESER SK 25", "kompressor"),
    ("Nilfisk SC 450", "skurmaskin"),
    ("Toyota 8FBE16T", "truck"),
    ("Linde E20", "truck"),
    ("Jungheinrich ETV 214", "truck"),
    ("Systemair SAVE VTR 300", "ventilationsaggregat"),
    ("Daikin FTXM35", "värmepump"),
    ("Grundfos CR 10-4", "pump"),
    ("Kärcher HDS 8/18", "högtryckstvätt"),
]
ARTICLE_KINDS = [
    ("Oljefilter", "st", 180, 450),
    ("Luftfilter", "st", 150, 650),
    ("Separatorfilter", "st", 600, 1900),
    ("Kompressorolja 5 l", "st", 700, 1400),
    ("Kilrem", "st", 120, 480),
    ("Packning", "st", 20, 120),
    ("Säkerhetsventil", "st", 400, 1200),
    ('Slang 1/2"', "m", 45, 120),
    ("Kopplingsdel", "st", 30, 150),
    ("Hydraulolja 20 l", "st", 900, 1800),
    ("Batterivatten 5 l", "st", 60, 110),
    ("Lager 6205", "st", 90, 260),
    ("Termostat", "st", 300, 900),
    ("Tryckvakt", "st", 500, 1500),
    ("Kondensavledare", "st", 700, 2100),
    ("Kylmedium R32", "kg", 300, 700),
    ("Skruv M8 rostfri", "st", 2, 8),
    ("Smörjfett", "st", 80, 190),
]
SERVICES = [
    ("Arbetstid tekniker", "tim", 850),
    ("Arbetstid jour", "tim", 1250),
    ("Resa", "st", 450),
    ("Milersättning", "mil", 65),
    ("Servicepaket A", "st", 2900),
    ("Servicepaket B", "st", 4800),
    ("Miljöavgift", "st", 95),
    ("Framkörning", "st", 595),
]
ACTIONS = [
    "Bytt olje- och luftfilter",
    "Kontrollerat tryck och temperatur",
    "Bytt kilrem",
    "Felsökt larm, glapp i kontakt åtgärdat",
    "Årlig service utförd enligt protokoll",
    "Läcktest utfört, inga läckage",
    "Rengjort kylare",
    "Bytt kondensavledare",
    "Provkört och justerat",
    "Smort lager och kontrollerat vibrationer",
]
FAULTS = [
    ("Kompressorn löser ut vid start", "Trasig tryckvakt"),
    ("Oljeläckage under maskinen", "Sprucken packning"),
    ("Truck laddar inte", "Defekt laddkabel"),
    ("Årlig service", ""),
    ("Dålig luftkvalitet i lokalen", "Igensatta filter"),
]


def load_demo_data(*, force: bool = False, seed: int = 42) -> str:
    """Create users, customers with facilities and service objects, articles and 300 orders.

    Raises RuntimeError when the database already has users (unless `force`). Flushes only."""
    if not force and db.session.scalar(select(func.count()).select_from(User)):
        raise RuntimeError("The database already has data; use --force to load anyway.")
    rng = random.Random(seed)
    today = local_today()

    west = Subgroup(name="Väst")
    south = Subgroup(name="Syd")
    db.session.add_all([west, south])
    admin = create_user(
        email="admin@example.com", name="Agnes Admin", password=DEMO_PASSWORD, role=Role.ADMIN
    )
    office = create_user(
        email="kontor@example.com", name="Kim Kontor", password=DEMO_PASSWORD, role=Role.OFFICE
    )
    techs = [
        create_user(
            email="tekniker1@example.com",
            name="Tove Tekniker",
            password=DEMO_PASSWORD,
            role=Role.TECHNICIAN,
            subgroup=west,
            employee_number="11",
            cost_center="SERV",
        ),
        create_user(
            email="tekniker2@example.com",
            name="Ture Montör",
            password=DEMO_PASSWORD,
            role=Role.TECHNICIAN,
            subgroup=west,
            employee_number="12",
            cost_center="SERV",
        ),
        create_user(
            email="tekniker3@example.com",
            name="Siv Servicetekniker",
            password=DEMO_PASSWORD,
            role=Role.TECHNICIAN,
            subgroup=south,
            employee_number="21",
            cost_center="SYD",
        ),
    ]

    for entity in CustomFieldEntity:
        db.session.add(CustomFieldDefinition(entity=entity, name="Er referens"))
    db.session.add(
        CustomFieldDefinition(entity=CustomFieldEntity.SALES_ORDER, name="Leveransvillkor")
    )
    db.session.add(CustomFieldDefinition(entity=CustomFieldEntity.SALES_ORDER, name="Leveranssätt"))
    tags = [Tag(name="Avtalskund"), Tag(name="Fortnox"), Tag(name="Jour")]
    db.session.add_all(tags)

    articles = []
    number = 1000
    for name, unit, low, high in ARTICLE_KINDS:
        for variant in range(10):
            number += 1
            articles.append(
                Article(
                    article_number=str(number),
                    name=f"{name} typ {chr(65 + variant)}",
                    unit=unit,
                    price=Decimal(rng.randint(low, high)),
                    hidden=name.startswith("Skruv"),
                    active=not (variant == 9 and name.startswith("Lager")),
                )
            )
    for i, (name, unit, price) in enumerate(SERVICES):
        articles.append(
            Article(article_number=f"T{i + 1:02d}", name=name, unit=unit, price=Decimal(price))
        )
    while len(articles) < 200:
        number += 1
        articles.append(
            Article(
                article_number=str(number),
                name=f"Reservdel {number}",
                unit="st",
                price=Decimal(rng.randint(50, 3000)),
            )
        )
    articles = articles[:200]
    db.session.add_all(articles)
    active_articles = [a for a in articles if a.active]

    customers = []
    for i in range(50):
        city, zip_code = rng.choice(PLACES)
        name = (
            f"{rng.choice(COMPANY_WORDS)}{rng.choice(['firman', 'tjänst', 'service', 'gruppen'])} "
            f"i {city} {rng.choice(['AB', 'AB', 'HB', 'Ek. för.'])}"
        )
        customer = Customer(
            customer_number=str(1001 + i),
            name=name,
            organisation_number=f"55{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
            address1=f"{rng.choice(STREETS)} {rng.randint(1, 80)}",
            zip_code=zip_code,
            city=city,
            country="Sverige",
            email=f"info@kund{1001 + i}.se",
            phone=f"031-{rng.randint(100000, 999999)}",
            subgroup=south if city in ("Jönköping", "Halmstad", "Varberg") else west,
            custom_fields={"Er referens": f"Inköp {rng.choice(LAST)}"} if i % 4 == 0 else {},
            tags=[rng.choice(tags)] if i % 3 == 0 else [],
        )
        for _c in range(rng.randint(1, 3)):
            customer.contacts.append(
                ContactPerson(
                    name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                    phone=f"070-{rng.randint(1000000, 9999999)}",
                    email=f"kontakt{rng.randint(1, 999)}@kund{1001 + i}.se",
                )
            )
        for f in range(rng.randint(1, 2)):
            facility = Facility(
                name=f"{name.split(' i ')[0]} {['huvudkontor', 'verkstad', 'lager'][f]}",
                address1=f"{rng.choice(STREETS)} {rng.randint(1, 80)}",
                zip_code=zip_code,
                city=city,
                country="Sverige",
                custom_fields={"Er referens": f"Fastighet {rng.choice(LAST)}"}
                if f and i % 5 == 0
                else {},
            )
            for _s in range(rng.randint(1, 3)):
                model, _kind = rng.choice(MACHINES)
                facility.service_objects.append(
                    ServiceObject(
                        name=model,
                        machine_number=f"M{rng.randint(100, 999)}",
                        serial_number=rng.choice(["AII", "SN", "KS"])
                        + str(rng.randint(100000, 999999)),
                        operating_hours=Decimal(rng.randint(500, 40000)),
                        comment=rng.choice(["", "Står i pannrummet", "Nyckel hos vaktmästaren"])
                        or None,
                    )
                )
            customer.facilities.append(facility)
        customers.append(customer)
    db.session.add_all(customers)
    db.session.flush()

    statuses = [
        OrderStatus.DRAFT,
        OrderStatus.IN_PROGRESS,
        OrderStatus.IN_PROGRESS,
        OrderStatus.READY,
        OrderStatus.READY,
        OrderStatus.READY,
        OrderStatus.IN_PROGRESS,
        OrderStatus.CANCELLED,
    ]
    # No order is "Skickad" or "Fakturerad" here: only a real send to Fortnox makes one so
    # (app/integrations/fortnox/sending.py), and demo data has sent nothing.
    kinds = [OrderKind.SERVICE, OrderKind.SERVICE, OrderKind.WORK, OrderKind.WORK, OrderKind.SALES]
    for i in range(300):
        kind = kinds[i % len(kinds)]
        customer = rng.choice(customers)
        facility = rng.choice(customer.facilities)
        same_group = [t for t in techs if t.subgroup_id == customer.subgroup_id] or techs
        tech = rng.choice(same_group)
        status = statuses[i % len(statuses)]
        start = today - timedelta(days=rng.randint(0, 120))
        fault, cause = rng.choice(FAULTS)
        order = Order(
            kind=kind,
            number=next_order_number(kind),
            status=status,
            customer=customer,
            facility=facility if kind != OrderKind.SALES or i % 2 else None,
            contact=rng.choice(customer.contacts),
            orderer=f"{rng.choice(FIRST)} {rng.choice(LAST)}" if i % 3 == 0 else None,
            assigned_user=tech,
            subgroup_id=customer.subgroup_id,
            customer_order_number=f"PO-{rng.randint(10000, 99999)}" if i % 4 == 0 else None,
            description=fault,
            fault_cause=cause or None,
            delivery_date=start + timedelta(days=7) if kind == OrderKind.SALES else None,
            created_by=office,
            custom_fields={"Leveransvillkor": "FV", "Leveranssätt": "P"}
            if kind == OrderKind.SALES
            else {},
        )
        days = rng.randint(1, 3)
        position = 0
        if kind != OrderKind.SALES:
            for d in range(days):
                order.actions.append(
                    Action(
                        position=d,
                        date=start + timedelta(days=d),
                        description=rng.choice(ACTIONS),
                        technician=tech,
                        hours=Decimal(rng.choice([1, 1.5, 2, 3, 4, 6, 8])),
                    )
                )
            for covered in facility.service_objects[: rng.randint(1, 2)]:
                order.service_objects.append(
                    OrderServiceObject(
                        service_object=covered,
                        operating_hours=(covered.operating_hours or Decimal(0))
                        + rng.randint(0, 300),
                    )
                )
        for _r in range(rng.randint(1, 8 if kind != OrderKind.WORK else 20)):
            article = rng.choice(active_articles)
            so: ServiceObject | None = None
            if kind != OrderKind.SALES and order.service_objects and rng.random() < 0.5:
                so = rng.choice(order.service_objects).service_object
            order.article_rows.append(
                ArticleRow(
                    position=position,
                    article=article,
                    quantity=Decimal(rng.randint(1, 4)),
                    unit=article.unit,
                    price=article.price,
                    date=start + timedelta(days=rng.randrange(days)),
                    technician=tech,
                    service_object=so,
                    cost_center=tech.cost_center,
                )
            )
            position += 1
        if status == OrderStatus.READY:
            order.signed_by = tech
            order.signed_at = datetime.combine(
                start + timedelta(days=days - 1), datetime.min.time(), UTC
            ) + timedelta(hours=15)
            order.signed_customer_name = order.contact.name if order.contact else "Kund"
        if i % 5 == 0:
            order.comments.append(
                Comment(
                    author=tech,
                    text="Kunden vill ha offert på nytt filterpaket.",
                    created_at=datetime.now(UTC) - timedelta(days=1),
                )
            )
        db.session.add(order)
    db.session.flush()
    return (
        f"Demo data: {len(customers)} customers, {len(articles)} articles, "
        f"{len(techs)} technicians, 300 orders; admin {admin.email}"
    )
