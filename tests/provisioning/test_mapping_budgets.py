"""A hostile mapping saved in the portal: the tester answers with the error, a cycle fails only that object.

The ``timeout`` marks only stop a hung run of the old code sooner; nothing here asserts a duration.
"""

import pytest

from portal.applications import services
from portal.directory.models import DirectoryUser
from provisioning.models import ObjectMapping, ProvisioningLog
from tests.fixtures.expressions import HOSTILE_ADDRESS, REDOS
from tests.fixtures.mappings import row, save_row, try_expression
from tests.fixtures.provisioning import by_username, cycle_here, make_app, make_users

STREET = 'addresses[type eq "work"].streetAddress'


def hostile_user() -> DirectoryUser:
    return DirectoryUser.objects.create(
        display_name="Mallory",
        user_principal_name="mallory@contoso.test",
        mail_nickname="mallory",
        street_address=HOSTILE_ADDRESS,
    )


@pytest.mark.django_db
@pytest.mark.timeout(60)
def test_the_tester_answers_a_catastrophic_regex_with_the_budget_error(signed_in_client):
    app = services.instantiate("scim-generic", "Generic SCIM")
    response = save_row(signed_in_client, app, STREET, mapping_type="Expression", expression=REDOS)
    assert response.status_code == 302  # a valid expression: Save only checks it, nothing runs
    assert row(app, STREET)[1]["expression"] == REDOS

    html = try_expression(signed_in_client, app, REDOS, hostile_user())

    assert 'data-testid="test-error"' in html
    assert "The regular expression took longer than 250 ms" in html


@pytest.mark.django_db
@pytest.mark.timeout(180)
def test_a_cycle_fails_the_object_the_saved_hostile_mapping_can_not_evaluate_and_goes_on(
    scim_server, signed_in_client, settings
):
    settings.PROVISIONING_PAGE_SIZE = 2  # the hostile user shares pages with good ones
    app = make_app(scim_server.base_url, scim_server.token, template="scim-generic")
    good = make_users(5)
    DirectoryUser.objects.filter(pk__in=[u.pk for u in good]).update(street_address="1 Main St, aaa")
    mallory = hostile_user()
    for user in [*good[:2], mallory, *good[2:]]:
        app.assign(user)
    response = save_row(
        signed_in_client, app.job.application, STREET, mapping_type="Expression", expression=REDOS
    )
    assert response.status_code == 302

    cycle = cycle_here(app.job, initial=True)

    assert cycle.status == "completed"
    failed = ProvisioningLog.objects.get(job=app.job, status="failure")
    assert failed.source_name == "Mallory"
    assert failed.error_code == "AttributeMappingEvaluationFailed"
    assert "The regular expression took longer than 250 ms" in failed.error_reason
    target = by_username(scim_server)
    assert set(target) == {u.user_principal_name for u in good}
    assert target["user0@contoso.test"]["addresses"][0]["streetAddress"] == "1 Main St, x"

    # The worker is free: the next cycle runs too, and fails the same object the same way.
    again = cycle_here(app.job)
    assert again.status == "completed"
    assert ProvisioningLog.objects.filter(job=app.job, status="failure", source_name="Mallory").count() == 2


@pytest.mark.django_db
@pytest.mark.timeout(180)
def test_a_catastrophic_regex_match_scoping_clause_fails_only_that_object(scim_server, settings):
    settings.PROVISIONING_PAGE_SIZE = 2
    app = make_app(scim_server.base_url, scim_server.token, template="scim-generic")
    good = make_users(3)
    DirectoryUser.objects.filter(pk__in=[u.pk for u in good]).update(street_address="1 Main St")
    mallory = hostile_user()
    for user in [good[0], mallory, *good[1:]]:
        app.assign(user)
    users = ObjectMapping.objects.get(job=app.job, key="users")
    users.scoping_filters = [
        {
            "title": "no ReDoS",
            "clauses": [{"attribute": "streetAddress", "operator": "NOT REGEX MATCH", "value": "(a+)+$"}],
        }
    ]
    users.save()

    cycle = cycle_here(app.job, initial=True)

    assert cycle.status == "completed"
    failed = ProvisioningLog.objects.get(job=app.job, status="failure")
    assert failed.source_name == "Mallory" and failed.error_code == "ScopingFilterEvaluationFailed"
    assert "The regular expression took longer than 250 ms" in failed.error_reason
    assert set(by_username(scim_server)) == {u.user_principal_name for u in good}
