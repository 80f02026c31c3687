"""``/servicePrincipals/{id}/synchronization``: one module per Graph resource it serves.

``jobs`` (templates, the job, start/pause/restart), ``secrets`` (credentials, settings,
validateCredentials), ``on_demand`` (provisionOnDemand) and ``schema`` (the mappings). Everything goes
through the same functions as the blade (``provisioning.sync``, ``provisioning.forms``); secrets are
write-only. The routers are joined here in that order, so the API and its docs list them as before.
"""

from ninja import Router

from portal.api.synchronization import jobs, on_demand, schema, secrets

router = Router()  # each resource's router carries the "synchronization" tag
for _resource in (jobs, secrets, on_demand, schema):
    router.add_router("/", _resource.router)
