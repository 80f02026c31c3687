"""Directory test helpers: small factories that write through the ORM (so signals record changes)."""

import itertools

import pytest

from portal.directory.models import DirectoryGroup, DirectoryUser

_counter = itertools.count(1)


@pytest.fixture
def make_user(db):
    def make(display_name: str | None = None, **fields) -> DirectoryUser:
        n = next(_counter)
        fields.setdefault("user_principal_name", f"user{n}@contoso.example")
        return DirectoryUser.objects.create(display_name=display_name or f"User {n}", **fields)

    return make


@pytest.fixture
def make_group(db):
    def make(display_name: str | None = None, **fields) -> DirectoryGroup:
        return DirectoryGroup.objects.create(display_name=display_name or f"Group {next(_counter)}", **fields)

    return make


@pytest.fixture
def eager_celery():
    """Run .delay() inline, so the large-file path of the import runs inside the test."""
    from portal.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = previous
