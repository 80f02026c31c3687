"""The target's raw capacity: the same user POSTs a sync sends, from a minimal httpx loop.

Run as a separate process (like a worker) so the client does not share a GIL with the server:
``python bench/raw_posts.py URL TOKEN COUNT CONCURRENCY`` prints requests per second.
"""

import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx


def main(url: str, token: str, count: int, concurrency: int) -> float:
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def post(i: int) -> None:
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": f"raw{i}@bench.test",
            "active": True,
            "displayName": f"Raw {i}",
            "externalId": f"raw{i}",
            "name": {"formatted": f"Raw {i}"},
        }
        client.post("/Users", json=body).raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(post, range(count)))
    return count / (time.perf_counter() - started)


if __name__ == "__main__":
    print(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
