"""Entra's "Review your schema": view the synchronization schema (the mappings as Graph's JSON),
download it, and upload an edited one, validated as a whole before anything is saved."""

from __future__ import annotations

import json
import uuid

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from pydantic import ValidationError

from portal.api.schemas import SynchronizationSchema
from portal.api.sync_schema import save_schema, synchronization_schema, template_key
from portal.applications.models import Application
from portal.applications.views import blade_context
from portal.audit import Activity, audit_application

MAX_SCHEMA_BYTES = 2 * 1024 * 1024


class SchemaUploadForm(forms.Form):
    file = forms.FileField(label=_("Schema file (JSON)"))

    def clean_file(self) -> SynchronizationSchema:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_SCHEMA_BYTES:
            raise forms.ValidationError(_("The file is larger than 2 MB."))
        try:
            data = json.loads(upload.read().decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise forms.ValidationError(f"The file is not valid JSON: {exc}.") from exc
        try:
            return SynchronizationSchema.model_validate(data)
        except ValidationError as exc:
            raise forms.ValidationError(
                [
                    f"{'.'.join(str(p) for p in error['loc']) or '(document)'}: {error['msg']}"
                    for error in exc.errors()[:20]
                ]
            ) from exc


@require_http_methods(["GET", "POST"])
def schema(request: HttpRequest, object_id: uuid.UUID) -> HttpResponse:
    application = get_object_or_404(
        Application.objects.select_related("provisioning"), service_principal_id=object_id
    )
    job = application.provisioning
    form = SchemaUploadForm(request.POST or None, request.FILES or None)
    problems: list[tuple[str, str]] = []
    if request.method == "POST" and form.is_valid():
        changed, found = save_schema(job, form.cleaned_data["file"])
        problems = found.items[:50]
        if not problems:
            if changed:
                audit_application(
                    request.user,
                    application,
                    Activity.UPDATE_MAPPINGS,
                    [("object_mappings", "", ", ".join(changed))],
                )
                messages.success(
                    request,
                    _("Schema saved: %(changes)s changed. The next cycle is an initial cycle.")
                    % {"changes": ", ".join(changed)},
                )
            else:
                messages.info(request, _("The uploaded schema matches the current one: nothing changed."))
            return redirect("provisioning:schema", object_id=object_id)
    document = synchronization_schema(
        job.job_id, template_key(application.template_id), list(job.object_mappings.all())
    )
    text = json.dumps(document, indent=2)
    if request.GET.get("download"):
        response = HttpResponse(text, content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="schema-{job.job_id}.json"'
        return response
    context = blade_context(application, "schema", _("Review schema"))
    context.update(job=job, form=form, problems=problems, schema_text=text)
    return render(
        request, "provisioning/schema.html", context, status=400 if request.method == "POST" else 200
    )
