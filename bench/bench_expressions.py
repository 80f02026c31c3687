"""How many users per second a typical 10-attribute user mapping can be evaluated for.

The engine evaluates every mapping for every user in a cycle (100,000 users is a normal tenant), so
this is the number that bounds a full sync's CPU time. Run ``python bench/bench_expressions.py``;
it prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from provisioning.expressions import EvaluationContext
from provisioning.mappings.evaluation import AttributeMapping, evaluate_all

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MAPPINGS = [
    AttributeMapping.from_dict(d)
    for d in [
        {"target": "userName", "type": "Direct", "source": "userPrincipalName", "matchingPrecedence": 1},
        {
            "target": "active",
            "type": "Expression",
            "expression": 'Switch([IsSoftDeleted], , "False", "True", "True", "False")',
        },
        {"target": "displayName", "type": "Direct", "source": "displayName"},
        {"target": "name.formatted", "type": "Expression", "expression": 'Join(" ", [givenName], [surname])'},
        {
            "target": "externalId",
            "type": "Expression",
            "expression": 'ToLower(NormalizeDiacritics(StripSpaces(Join(".", [givenName], [surname]))))',
        },
        {
            "target": 'emails[type eq "work"].value',
            "type": "Expression",
            "expression": "Coalesce([mail], [userPrincipalName])",
        },
        {
            "target": 'addresses[type eq "work"].country',
            "type": "Expression",
            "expression": 'IIF([country]="US", "United States", [country])',
        },
        {
            "target": f"{ENTERPRISE}:employeeNumber",
            "type": "Expression",
            "expression": 'FormatDateTime([employeeHireDate], , "yyyy-MM-ddTHH:mm:ssZ", "yyyyMMdd")',
        },
        {
            "target": 'roles[primary eq "True"].value',
            "type": "Expression",
            "expression": "SingleAppRoleAssignment([appRoleAssignments])",
        },
        {
            "target": f"{ENTERPRISE}:department",
            "type": "Expression",
            "expression": 'Append([department], " (EU)")',
        },
    ]
]

FIRST = ["Zoë", "José", "Ana", "Björn", "Chloé", "Dmitri", "Émile", "Fatima", "Grace", "Hiro"]
LAST = ["Müller", "García", "O'Neil", "Nørgaard", "Smith", "Dvořák", "Lee", "Łukasz", "Brown", "Kovač"]


def make_users(count: int) -> list[tuple[dict, list[dict]]]:
    """Varied users: accents, missing mail, soft-deleted ones, three countries."""
    users = []
    for i in range(count):
        given, surname = FIRST[i % 10], LAST[(i // 10) % 10]
        source = {
            "userPrincipalName": f"user{i}@contoso.com",
            "displayName": f"{given} {surname}",
            "givenName": given,
            "surname": surname,
            "mail": None if i % 3 == 0 else f"{given.lower()}.{i}@contoso.com",
            "IsSoftDeleted": i % 17 == 0,
            "country": ["US", "DE", "FR"][i % 3],
            "employeeHireDate": f"20{10 + i % 15}-0{1 + i % 9}-1{i % 10}T08:30:00Z",
            "department": ["Sales", "Engineering", "Finance"][i % 3],
        }
        roles = [{"id": str(i), "value": "User", "displayName": "User", "principalType": "User"}]
        users.append((source, roles))
    return users


def run(users: int = 2_000, rounds: int = 10) -> dict[str, object]:
    """Best of ``rounds`` passes over ``users`` users; a fresh context per user, as the engine does."""
    fixed_now = datetime(2026, 1, 1, tzinfo=UTC)

    def now() -> datetime:
        return fixed_now

    population = make_users(users)
    evaluate_all(MAPPINGS, EvaluationContext(*population[0]), creating=True)  # warm the parse cache
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for source, roles in population:
            evaluate_all(MAPPINGS, EvaluationContext(source, roles, now=now), creating=True)
        best = min(best, time.perf_counter() - start)
    per_second = users / best
    return {
        "benchmark": "typical 10-attribute user mapping (evaluate_all, creating=True)",
        "attributes": len(MAPPINGS),
        "users_per_round": users,
        "rounds": rounds,
        "best_round_seconds": round(best, 4),
        "evaluations_per_second": round(per_second),
        "attribute_evaluations_per_second": round(per_second * len(MAPPINGS)),
        "python": sys.version.split()[0],
    }


if __name__ == "__main__":
    print(json.dumps(run()))
