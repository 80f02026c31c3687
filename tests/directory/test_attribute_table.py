"""Graph name ↔ directory field is one table: the API, the CSV import, the provisioning source and the
gallery's validation all offer the same attributes under the same names."""

from __future__ import annotations

import pytest

from portal.api import directory as api
from portal.applications import gallery
from portal.directory import attributes, csv_import
from portal.directory.models import DirectoryGroup, DirectoryUser
from provisioning.sync.directory_source import group_attributes, user_attributes

pytestmark = pytest.mark.django_db


def test_every_consumer_reads_the_one_table():
    assert api.USER_FIELDS is attributes.USER_PROFILE and api.GROUP_FIELDS is attributes.GROUP_PROFILE
    assert list(csv_import.USER_COLUMNS) == [
        *attributes.USER_ATTRIBUTES,
        *attributes.EXTENSION_ATTRIBUTE_NAMES,
    ]
    assert gallery.USER_SOURCE_ATTRIBUTES is attributes.USER_SOURCE_ATTRIBUTES
    assert gallery.GROUP_SOURCE_ATTRIBUTES is attributes.GROUP_SOURCE_ATTRIBUTES


def test_the_provisioning_source_gives_each_attribute_its_graph_name():
    user = DirectoryUser.objects.create(
        user_principal_name="ada@contoso.test", display_name="Ada", mail_nickname="ada", department="R&D"
    )
    source = user_attributes(user, None)
    assert set(attributes.USER_PROFILE) | set(attributes.USER_READ_ONLY) <= set(source)
    assert set(source) <= attributes.USER_SOURCE_ATTRIBUTES
    assert source["department"] == "R&D" and source["userPrincipalName"] == "ada@contoso.test"
    group = DirectoryGroup.objects.create(display_name="Sales", mail_nickname="sales")
    assert (
        set(attributes.GROUP_PROFILE)
        <= set(group_attributes(group))
        <= {
            *attributes.GROUP_SOURCE_ATTRIBUTES,
            "IsSoftDeleted",
        }
    )
