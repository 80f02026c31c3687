"""Texts the engine stores stay English in the database and the Graph API, and are shown in the reader's
language in the portal: provisioning steps, recommended actions, expression errors."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from portal.i18n.text import localized
from provisioning.engine.outcome import Step
from provisioning.expressions import ExpressionError, compile_expression
from provisioning.forms.mappings import check_expression
from provisioning.logs.graph import graph_record, job_identity
from provisioning.messages import Message, gettext_noop
from tests.fixtures.logs import make_log, new_job

pytestmark = pytest.mark.django_db


def test_a_logged_step_is_stored_english_and_shown_in_the_readers_language(client, admin_user):
    job = new_job()
    step = Step(
        "Import", "success", Message(gettext_noop("Retrieved %(value)s from the directory."), value="Ada")
    )
    log = make_log(
        job,
        steps=[step.to_dict()],
        status="failure",
        error_code="TooManyRequests",
        error_reason="429",
        recommended_action="The application is throttling; the request is retried automatically.",
    )
    log.refresh_from_db()
    assert log.steps[0]["description"] == "Retrieved Ada from the directory."
    record = graph_record(log, job_identity(job))
    assert record["provisioningSteps"][0]["description"] == "Retrieved Ada from the directory."
    assert "descriptionId" not in record["provisioningSteps"][0]  # Graph's shape, unchanged

    client.force_login(admin_user)
    client.post(reverse("set_language"), {"language": "fr"})
    url = reverse("provisioning:log_detail", args=[log.pk])
    steps = client.get(url).content.decode()
    assert "Ada récupéré depuis l’annuaire." in steps and "Importation" in steps
    troubleshooting = client.get(f"{url}?tab=troubleshooting").content.decode()
    assert "L’application limite les requêtes ; la requête est réessayée automatiquement." in troubleshooting


def test_an_expression_error_is_english_for_the_engine_and_translated_on_the_mapping_page():
    with pytest.raises(ExpressionError) as caught:
        compile_expression('Joinn(" ", [givenName])')
    assert caught.value.message == "Unknown function 'Joinn'; did you mean 'Join'?"
    with translation.override("nl"):
        assert localized(caught.value.message) == "Onbekende functie 'Joinn'; bedoelde u 'Join'?"
        problem = check_expression('Joinn(" ", [givenName])', "User")
    assert str(problem) == "Onbekende functie 'Joinn'; bedoelde u 'Join'? (regel 1, kolom 1)"
    assert problem.pointer == "^"
