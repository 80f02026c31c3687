"""An initial cycle streams its objects into pages: every entitled object once, then the linked objects
that are no longer entitled (so they are disabled), whatever the directory's size."""

import pytest

from provisioning.models import CyclePage
from tests.fixtures.provisioning import make_users, run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_an_initial_cycle_pages_every_user_once_and_revisits_linked_users_no_longer_assigned(
    celery_worker, scim_server, provisioned_app, settings
):
    settings.PROVISIONING_PAGE_SIZE = 2
    users = make_users(5)
    for user in users:
        provisioned_app.assign(user)
    run(provisioned_app.job)
    provisioned_app.unassign(users[0])

    cycle = run(provisioned_app.job, initial=True)

    pages = CyclePage.objects.filter(cycle=cycle, phase="users").order_by("index")
    paged = [item for page in pages for item in page.items]
    assert sorted(paged) == sorted(str(u.object_id) for u in users)  # each once: 4 entitled + 1 linked
    assert paged[-1] == str(users[0].object_id)  # the linked one comes after the entitled ones
    assert (cycle.total, pages.count()) == (5, 3)
    stored = {u["userName"]: u for u in scim_server.users()}
    assert stored[users[0].user_principal_name]["active"] is False
    assert all(stored[u.user_principal_name]["active"] for u in users[1:])
