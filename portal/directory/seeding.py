# ruff: noqa: RUF001  (names and group labels carry real-world letters, e.g. the Turkish dotless i)
"""Deterministic, realistic demo data for the directory: same seed, same tenant, byte for byte.

Names come from a dozen locales with their diacritics (Zoë, Łukasz, Søren, Ærø, José, Müller…) so that
everything downstream (search, CSV, SCIM payloads) meets real-world text. Managers form a tree: a CEO,
one head per department, and every other user reports to an earlier user of the same department.
Groups have a realistic spread: a few big ones, many small ones, some nested.

Generation is pure (``generate_users``, ``generate_groups``); ``seed_directory`` writes with
``bulk_create`` and records the change feed in bulk.
"""

import random
import time
import unicodedata
import uuid
from array import array
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from django.db import reset_queries, transaction
from django.db.models.functions import Lower

from portal.directory import services
from portal.directory.changes import Change, record_changes
from portal.directory.models import ChangeKind, DirectoryGroup, DirectoryUser, ObjectKind

DEFAULT_DOMAIN = "contoso.onmicrosoft.com"
_EPOCH = datetime(2019, 1, 1, 8, 0, tzinfo=UTC)
STREAM_BATCH = 5000  # users (or memberships) generated and written at a time


@dataclass(frozen=True)
class Locale:
    language: str
    country_code: str
    country: str
    cities: tuple[str, ...]
    given_names: tuple[str, ...]
    surnames: tuple[str, ...]
    phone_prefix: str
    weight: int


LOCALES = (
    Locale("en-US", "US", "United States", ("Seattle", "Austin", "Boston", "Chicago", "Denver"),
           ("Emily", "Michael", "Ashley", "Chris", "Jessica", "Daniel", "Olivia", "Noah", "Maya", "Ethan"),
           ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor"), "+1", 20),
    Locale("de-DE", "DE", "Germany", ("München", "Köln", "Düsseldorf", "Berlin", "Nürnberg"),
           ("Jürgen", "Anke", "Björn", "Günther", "Lena", "Jörg", "Käthe", "Lukas", "Sönke", "Maximilian"),
           ("Müller", "Schröder", "Weiß", "Groß", "Bäcker", "Köhler", "Fischer", "Hoffmann", "Schäfer"), "+49", 10),
    Locale("fr-FR", "FR", "France", ("Paris", "Lyon", "Besançon", "Orléans", "Nîmes"),
           ("Zoë", "Hélène", "François", "Gaël", "Chloé", "Léa", "Jérôme", "Amélie", "Noël", "Anaïs"),
           ("Lefèvre", "Dupré", "Girard", "Bérubé", "Mercier", "Fontaine", "Rousseau", "Côté", "Lemaître"), "+33", 8),
    Locale("pl-PL", "PL", "Poland", ("Łódź", "Kraków", "Gdańsk", "Wrocław", "Poznań"),
           ("Łukasz", "Małgorzata", "Paweł", "Zofia", "Wojciech", "Agnieszka", "Bartłomiej", "Jędrzej"),
           ("Wiśniewski", "Kowalczyk", "Lewandowska", "Wójcik", "Żak", "Dąbrowski", "Zieliński", "Szymańska"), "+48", 7),
    Locale("da-DK", "DK", "Denmark", ("København", "Aarhus", "Odense", "Ærøskøbing"),
           ("Søren", "Mette", "Jørgen", "Åse", "Mads", "Freja", "Ida", "Rasmus"),
           ("Jørgensen", "Ærø", "Sørensen", "Møller", "Kjær", "Østergaard", "Nielsen", "Lund"), "+45", 5),
    Locale("nb-NO", "NO", "Norway", ("Tromsø", "Bodø", "Oslo", "Bergen", "Ålesund"),
           ("Øystein", "Åsa", "Bjørn", "Ingrid", "Håkon", "Solveig", "Kåre", "Tiril"),
           ("Bjørnstad", "Haugen", "Løvås", "Ødegård", "Søberg", "Dahl", "Strøm", "Berg"), "+47", 4),
    Locale("sv-SE", "SE", "Sweden", ("Göteborg", "Malmö", "Västerås", "Umeå", "Stockholm"),
           ("Åsa", "Björn", "Märta", "Göran", "Linnéa", "Östen", "Saga", "Nils"),
           ("Åberg", "Öberg", "Löfgren", "Ström", "Lindqvist", "Ekström", "Sjögren", "Näslund"), "+46", 4),
    Locale("es-ES", "ES", "Spain", ("Málaga", "Córdoba", "Madrid", "León", "Cádiz"),
           ("José", "María", "Sofía", "Íñigo", "Ángel", "Lucía", "Martín", "Begoña"),
           ("García", "Muñoz", "Pérez", "Núñez", "Rodríguez", "Jiménez", "Ibáñez", "Fernández"), "+34", 7),
    Locale("cs-CZ", "CZ", "Czechia", ("Brno", "Plzeň", "Ostrava", "Praha", "České Budějovice"),
           ("Jiří", "Tomáš", "Kateřina", "Lukáš", "Zdeňka", "Ondřej", "Eliška", "Radek"),
           ("Dvořák", "Novák", "Černý", "Procházka", "Kučera", "Veselá", "Horák", "Růžička"), "+420", 3),
    Locale("tr-TR", "TR", "Türkiye", ("İstanbul", "İzmir", "Ankara", "Eskişehir", "Muğla"),
           ("Çağla", "Gülşen", "Şükrü", "Ömer", "Ayşe", "Barış", "Özge", "İlker"),
           ("Şahin", "Yılmaz", "Öztürk", "Çelik", "Doğan", "Aydın", "Güneş", "Kılıç"), "+90", 3),
    Locale("en-IE", "IE", "Ireland", ("Dublin", "Cork", "Galway", "Limerick"),
           ("Siobhán", "Seán", "Aoife", "Niamh", "Ciarán", "Eoin", "Róisín", "Pádraig"),
           ("O'Brien", "Ó Súilleabháin", "Murphy", "Kelly", "Byrne", "Mac Giolla Phádraig", "Walsh", "O'Connor"),
           "+353", 3),
    Locale("is-IS", "IS", "Iceland", ("Reykjavík", "Akureyri"),
           ("Þóra", "Guðrún", "Sigurður", "Ásgeir", "Björk", "Ólafur"),
           ("Þórsdóttir", "Guðmundsson", "Jónsdóttir", "Sigurðsson", "Ólafsson"), "+354", 1),
    Locale("vi-VN", "VN", "Vietnam", ("Hà Nội", "Đà Nẵng", "Huế", "Hồ Chí Minh"),
           ("Nguyệt", "Phương", "Đức", "Thảo", "Quốc", "Hương"),
           ("Nguyễn", "Trần", "Lê", "Phạm", "Đặng", "Hoàng"), "+84", 2),
)  # fmt: skip

# Department → (weight, job titles). Heads of department get "Head of <department>".
DEPARTMENTS: dict[str, tuple[int, tuple[str, ...]]] = {
    "Engineering": (24, ("Software Engineer", "Senior Software Engineer", "Staff Engineer", "QA Engineer",
                         "Site Reliability Engineer", "Engineering Manager")),
    "Sales": (16, ("Account Executive", "Sales Development Representative", "Account Manager", "Sales Engineer",
                   "Regional Sales Manager")),
    "Customer Support": (14, ("Support Engineer", "Support Specialist", "Customer Success Manager", "Support Lead")),
    "Marketing": (8, ("Marketing Specialist", "Content Strategist", "Product Marketing Manager", "Designer")),
    "Operations": (8, ("Operations Analyst", "Logistics Coordinator", "Facilities Manager", "Buyer")),
    "Finance": (6, ("Accountant", "Financial Analyst", "Controller", "Payroll Specialist")),
    "Product": (6, ("Product Manager", "Senior Product Manager", "UX Researcher", "Product Designer")),
    "IT": (5, ("Systems Administrator", "Identity Engineer", "Service Desk Analyst", "Network Engineer")),
    "Human Resources": (5, ("HR Business Partner", "Recruiter", "People Operations Specialist")),
    "Research": (5, ("Research Scientist", "Data Scientist", "Research Engineer")),
    "Legal": (3, ("Legal Counsel", "Paralegal", "Compliance Officer")),
}  # fmt: skip
_PROJECT_WORDS = (
    "Aurora", "Fjord", "Nordlys", "Kestrel", "Mistral", "Sirocco", "Tundra", "Zephyr", "Cobalt", "Jötunn",
    "Élan", "Ñandú", "Łabędź", "Søstjerne", "Orion", "Pavo", "Vega", "Atlas", "Borealis", "Caldera",
)  # fmt: skip
_TEAM_KINDS = ("Project", "Team", "Guild", "Working group", "Squad", "Committee")
_FOLD = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae", "ł": "l", "Ł": "L", "ß": "ss", "đ": "d",
                       "Đ": "D", "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D", "ı": "i", "œ": "oe", "Œ": "Oe"})  # fmt: skip


def ascii_fold(text: str) -> str:
    """ "Søren Ærø" → "Soren Aero": the usual way tenants turn names into mail aliases."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _alias(*parts: str) -> str:
    cleaned = ["".join(c for c in ascii_fold(p).lower() if c.isascii() and c.isalnum()) for p in parts]
    return ".".join(p for p in cleaned if p) or "user"


@dataclass
class SeedUser:
    index: int
    user: DirectoryUser
    manager_index: int | None
    locale: Locale


@dataclass
class SeedGroup:
    group: DirectoryGroup
    user_indexes: Sequence[int] = field(default_factory=list)
    nested_in: int | None = None  # index of the parent seed group


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def iter_users(count: int, seed: int, domain: str = DEFAULT_DOMAIN) -> Iterator[SeedUser]:
    """The users of a seeded tenant, one at a time (a million users never sit in memory at once).

    What it remembers across users is small: how often each name's alias was taken (aliases are built
    from letters only, so ``base`` + a number never collides with another base) and each department's
    user numbers, packed in arrays.
    """
    rng = random.Random(seed)
    locale_weights = [loc.weight for loc in LOCALES]
    departments = list(DEPARTMENTS)
    department_weights = [DEPARTMENTS[d][0] for d in departments]
    taken: dict[str, int] = {}
    by_department: dict[str, array] = defaultdict(lambda: array("i"))
    for index in range(count):
        locale = rng.choices(LOCALES, locale_weights)[0]
        given, surname = rng.choice(locale.given_names), rng.choice(locale.surnames)
        base = _alias(given, surname)
        taken[base] = taken.get(base, 0) + 1
        alias = base if taken[base] == 1 else f"{base}{taken[base]}"
        if index == 0:
            department, title, manager = "Executive", "Chief Executive Officer", None
        elif index <= len(departments):
            department = departments[index - 1]
            title, manager = f"Head of {department}", 0
        else:
            department = rng.choices(departments, department_weights)[0]
            title = rng.choice(DEPARTMENTS[department][1])
            earlier = by_department[department]
            # Biased towards early (senior) users: a bushy top and realistic depth below.
            manager = earlier[int(len(earlier) * rng.random() ** 1.6)] if earlier else 0
        by_department[department].append(index)
        city = rng.choice(locale.cities)
        enabled = rng.random() > 0.03
        contractor = rng.random() < 0.08
        phone = f"{locale.phone_prefix} {rng.randint(200, 999)} {rng.randint(1000, 9999)}"
        cost_center = departments.index(department) + 1 if department in departments else 0
        extensions = {"extensionAttribute1": f"CC-{cost_center:02d}{rng.randint(100, 999)}"}
        if rng.random() < 0.3:
            extensions["extensionAttribute2"] = rng.choice(("Hybrid", "Remote", "On-site"))
        user = DirectoryUser(
            object_id=_uuid(rng),
            display_name=f"{given} {surname}",
            given_name=given,
            surname=surname,
            user_principal_name=f"{alias}@{domain}",
            mail=f"{alias}@{domain}",
            mail_nickname=alias[:64],
            job_title=title,
            department=department,
            company_name="Contoso",
            employee_id=f"E{100000 + index}",
            employee_type="Contractor" if contractor else "Employee",
            office_location=f"{city} {rng.randint(1, 4)}",
            city=city,
            country=locale.country,
            usage_location=locale.country_code,
            preferred_language=locale.language,
            mobile_phone=f"{locale.phone_prefix} {rng.randint(100, 999)} {rng.randint(100000, 999999)}",
            business_phones=[phone],
            account_enabled=enabled,
            extension_attributes=extensions,
            created_date_time=_EPOCH + timedelta(minutes=rng.randint(0, 5 * 365 * 24 * 60)),
        )
        yield SeedUser(index, user, manager, locale)


def generate_users(count: int, seed: int, domain: str = DEFAULT_DOMAIN) -> list[SeedUser]:
    """The users of a seeded tenant; the first N of a larger tenant are the same N users."""
    return list(iter_users(count, seed, domain))


@dataclass
class Roster:
    """What the groups are built from, per user number: department, country, who manages someone."""

    count: int = 0
    departments: dict[str, array] = field(default_factory=lambda: defaultdict(lambda: array("i")))
    countries: dict[str, array] = field(default_factory=lambda: defaultdict(lambda: array("i")))
    managers: set[int] = field(default_factory=set)

    def add(self, user: SeedUser) -> None:
        self.count += 1
        self.departments[user.user.department].append(user.index)
        self.countries[user.locale.country].append(user.index)
        if user.manager_index is not None:
            self.managers.add(user.manager_index)


def generate_groups(
    count: int, users: list[SeedUser] | Roster, seed: int, domain: str = DEFAULT_DOMAIN
) -> list[SeedGroup]:
    """Groups with a long-tailed size distribution: all-staff, departments, offices, managers, then teams."""
    roster = users
    if not isinstance(roster, Roster):
        roster = Roster()
        for user in users:
            roster.add(user)
    rng = random.Random(seed * 1_000_003 + 7)
    n = roster.count
    departments, countries = roster.departments, roster.countries
    managers = sorted(roster.managers)
    department_groups = [(f"{d} Team", f"Everyone in {d}.", m) for d, m in sorted(departments.items())]
    office_groups = [(f"Office – {c}", f"Staff based in {c}.", m) for c, m in sorted(countries.items())]
    specs = [
        ("All Employees", "Everyone in the company.", range(n)),
        ("All Managers", "Everyone with direct reports.", managers),
        *department_groups,
    ]
    groups: list[SeedGroup] = []
    names: set[str] = set()
    department_group_index: dict[str, int] = {}
    for name, description, members in specs[:count]:
        if name.endswith(" Team"):
            department_group_index[name.removesuffix(" Team")] = len(groups)
        groups.append(_seed_group(rng, name, description, members, domain))
        names.add(name)
    while len(groups) < count:
        if office_groups and rng.random() < 0.5:  # offices and project teams interleave
            name, description, members = office_groups.pop(0)
            groups.append(_seed_group(rng, name, description, members, domain))
            names.add(name)
            continue
        name = f"{rng.choice(_TEAM_KINDS)} {rng.choice(_PROJECT_WORDS)}"
        base, suffix = name, 1
        while name in names:
            suffix += 1
            name = f"{base} {suffix}"
        names.add(name)
        department = rng.choice(sorted(departments)) if n and rng.random() < 0.7 else None
        pool = departments[department] if department else range(n)
        size = min(len(pool), max(2, int(3 * rng.paretovariate(1.15))))
        members = sorted(rng.sample(pool, size)) if pool else []
        group = _seed_group(rng, name, f"Members of {name}.", members, domain)
        nest = rng.random()
        if department in department_group_index and nest < 0.25:
            group.nested_in = department_group_index[department]  # a project team inside its department
        elif nest > 0.95 and len(groups) > 2:
            group.nested_in = rng.randrange(2, len(groups))  # an earlier group: nesting can never loop
        groups.append(group)
    return groups


def _seed_group(
    rng: random.Random, name: str, description: str, members: Sequence[int], domain: str
) -> SeedGroup:
    nickname = _alias(name).replace(".", "-")[:64]
    mail_enabled = rng.random() < 0.3
    group = DirectoryGroup(
        object_id=_uuid(rng),
        display_name=name,
        description=description,
        mail_nickname=nickname,
        mail=f"{nickname}@{domain}" if mail_enabled else "",
        security_enabled=True,
        mail_enabled=mail_enabled,
        created_date_time=_EPOCH + timedelta(minutes=rng.randint(0, 5 * 365 * 24 * 60)),
    )
    return SeedGroup(group, members)


@dataclass
class SeedResult:
    users_created: int = 0
    users_skipped: int = 0
    groups_created: int = 0
    groups_skipped: int = 0
    memberships_created: int = 0
    seconds: float = 0.0


class _UserRef(NamedTuple):
    """A seeded user as a membership needs it: primary key and object id."""

    pk: int
    object_id: uuid.UUID


def seed_directory(users: int, groups: int, seed: int = 1, domain: str = DEFAULT_DOMAIN) -> SeedResult:
    """Write a seeded tenant; users whose UPN exists and groups whose name exists are skipped, not doubled.

    Users are generated and written ``STREAM_BATCH`` at a time, memberships likewise, all in one
    transaction: memory stays bounded (a million users need a few arrays of numbers, not a million
    model instances), and a failure leaves nothing half-written.
    """
    started = time.perf_counter()
    result = SeedResult()
    roster = Roster()
    pks = array("q")  # user number → primary key
    object_ids = bytearray()  # user number → object id, 16 bytes each
    with transaction.atomic():
        batch: list[SeedUser] = []
        for seed_user in iter_users(users, seed, domain):
            roster.add(seed_user)
            batch.append(seed_user)
            if len(batch) == STREAM_BATCH:
                _write_users(batch, pks, object_ids, result)
                batch = []
        _write_users(batch, pks, object_ids, result)

        seed_groups = generate_groups(groups, roster, seed, domain)
        taken_names = set(
            DirectoryGroup.objects.active()
            .filter(display_name__in=[g.group.display_name for g in seed_groups])
            .values_list("display_name", flat=True)
        )
        new_groups = [g for g in seed_groups if g.group.display_name not in taken_names]
        new_group_ids = {id(g) for g in new_groups}
        DirectoryGroup.objects.bulk_create([g.group for g in new_groups], batch_size=services.BATCH_SIZE)
        record_changes(Change(ObjectKind.GROUP, g.group.object_id, ChangeKind.CREATED) for g in new_groups)
        result.groups_created, result.groups_skipped = len(new_groups), len(seed_groups) - len(new_groups)

        def user(index: int) -> _UserRef:
            return _UserRef(pks[index], uuid.UUID(bytes=bytes(object_ids[16 * index : 16 * index + 16])))

        pairs: list[tuple[DirectoryGroup, DirectoryUser | DirectoryGroup | _UserRef]] = []
        for g in new_groups:
            for index in g.user_indexes:
                pairs.append((g.group, user(index)))
                if len(pairs) == STREAM_BATCH:
                    result.memberships_created += _add_memberships(pairs)
                    pairs = []
            if g.nested_in is not None and id(seed_groups[g.nested_in]) in new_group_ids:
                pairs.append((seed_groups[g.nested_in].group, g.group))
        result.memberships_created += _add_memberships(pairs)
    services.refresh_statistics()
    result.seconds = time.perf_counter() - started
    return result


def _write_users(batch: list[SeedUser], pks: array, object_ids: bytearray, result: SeedResult) -> None:
    """Insert a batch of seeded users (managers are earlier users: in this batch or already written)."""
    existing = _existing_users([u.user.user_principal_name.lower() for u in batch])
    in_batch: dict[int, DirectoryUser] = {}
    new_users: list[DirectoryUser] = []
    for seed_user in batch:
        found = existing.get(seed_user.user.user_principal_name.lower())
        in_batch[seed_user.index] = found or seed_user.user
        if found:
            continue
        new_users.append(seed_user.user)
        manager = seed_user.manager_index
        if manager is not None:
            if manager in in_batch:
                seed_user.user.manager = in_batch[manager]
            else:
                seed_user.user.manager_id = pks[manager]
    services.bulk_create_users(new_users)
    for seed_user in batch:
        written = in_batch[seed_user.index]
        pks.append(written.pk)
        object_ids.extend(written.object_id.bytes)
    result.users_created += len(new_users)
    result.users_skipped += len(batch) - len(new_users)
    reset_queries()  # DEBUG keeps every query's SQL: a million users' INSERTs would pile up


def _add_memberships(pairs: list) -> int:
    created = services.add_memberships_in_bulk(pairs)
    reset_queries()
    return created


def _existing_users(upns: list[str]) -> dict[str, DirectoryUser]:
    found: dict[str, DirectoryUser] = {}
    for start in range(0, len(upns), services.BATCH_SIZE):
        batch = upns[start : start + services.BATCH_SIZE]
        for user in (
            DirectoryUser.objects.annotate(_upn=Lower("user_principal_name"))
            .filter(_upn__in=batch)
            .only("pk", "object_id", "user_principal_name")
        ):
            found[user._upn] = user
    return found
