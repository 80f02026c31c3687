"""URL patterns of the Mappings blade, added to the ``provisioning`` namespace by ``provisioning/urls.py``.

An object mapping is addressed by its app (``object_id`` = the service principal's object id, as the
other blades) and its key (``users``, ``groups``).
"""

from django.urls import path

from provisioning.views import mappings

_BASE = "<uuid:object_id>/provisioning/mappings/<slug:key>/"

urlpatterns_mappings = [
    path(_BASE, mappings.mapping, name="mapping"),
    path(f"{_BASE}attributes/add/", mappings.attribute_add, name="mapping_attribute_add"),
    path(f"{_BASE}attributes/<int:index>/", mappings.attribute_edit, name="mapping_attribute_edit"),
    path(
        f"{_BASE}attributes/<int:index>/delete/", mappings.attribute_delete, name="mapping_attribute_delete"
    ),
    path(f"{_BASE}test-objects/", mappings.test_objects, name="mapping_test_objects"),
    path(f"{_BASE}scoping/", mappings.scoping, name="mapping_scoping"),
    path(f"{_BASE}target-attributes/", mappings.target_attribute_list, name="mapping_target_attributes"),
    path(f"{_BASE}restore/", mappings.restore, name="mapping_restore"),
]
