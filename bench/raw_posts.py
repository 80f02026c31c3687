"""The target's raw capacity for a sync's work, from a minimal httpx2 loop.

Run as a separate process (like a worker) so the client does not share a GIL with the server:
``python bench/raw_posts.py URL TOKEN COUNT CONCURRENCY [GROUPS_JSON BATCH]`` creates COUNT users, then,
given a JSON file of groups (lists of member positions among those users), creates each group and adds
its members with ``PATCH add members``, BATCH per request — the same membership work a sync sends. It
prints one JSON line: ``posts_per_s`` (user creates) and ``membership_s`` (groups and their members).
"""

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx2

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def main(url: str, token: str, count: int, concurrency: int, groups: list[list[int]], batch: int) -> dict:
    client = httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=300)

    def post(i: int) -> str:
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": f"raw{i}@bench.test",
            "active": True,
            "displayName": f"Raw {i}",
            "externalId": f"raw{i}",
            "name": {"formatted": f"Raw {i}"},
        }
        response = client.post("/Users", json=body)
        response.raise_for_status()
        return response.json()["id"]

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        ids = list(pool.map(post, range(count)))
    posts_s = time.perf_counter() - started

    def group(numbered: tuple[int, list[int]]) -> None:
        number, members = numbered
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": f"Raw group {number}",
        }
        response = client.post("/Groups", json=body)
        response.raise_for_status()
        group_id = response.json()["id"]
        for start in range(0, len(members), batch):
            values = [{"value": ids[m]} for m in members[start : start + batch]]
            operations = [{"op": "add", "path": "members", "value": values}]
            client.patch(
                f"/Groups/{group_id}", json={"schemas": [PATCH_OP], "Operations": operations}
            ).raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(group, enumerate(groups)))
    return {"posts_per_s": count / posts_s, "membership_s": time.perf_counter() - started}


if __name__ == "__main__":
    url, token, count, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    groups: list[list[int]] = []
    batch = 100
    if len(sys.argv) > 6:
        with open(sys.argv[5]) as f:
            groups = json.load(f)
        batch = int(sys.argv[6])
    print(json.dumps(main(url, token, count, concurrency, groups, batch)))
