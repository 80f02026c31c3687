"""Provision on demand, the dry-run plan, and the review of deletions stopped by the threshold."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from portal.applications.models import Application
from portal.applications.services import search_principals
from portal.applications.views import blade_context
from portal.directory.models import DirectoryGroup, DirectoryUser
from provisioning.models import Cycle, CyclePage, CyclePhase, CycleStatus, PageStatus
from provisioning.sync import control
from provisioning.sync.operations import plan, provision_on_demand

PICKER_LIMIT = 20
GROUP_MEMBERS_MAX = 5  # Entra provisions a group on demand with at most 5 of its members
MEMBER_CHOICES = 200
PLAN_ACTIONS = ["Create", "Update", "Disable", "Delete", "Skip", "Other", "Failed"]


def _application(object_id: uuid.UUID) -> Application:
    return get_object_or_404(
        Application.objects.select_related("provisioning"), service_principal_id=object_id
    )


@require_http_methods(["GET", "POST"])
def on_demand(request: HttpRequest, object_id: uuid.UUID) -> HttpResponse:
    application = _application(object_id)
    context = blade_context(application, "on_demand", _("Provision on demand"))
    query = request.GET.get("q", "").strip()
    if query:  # the portal's one principal search: active users and groups, never the recycle bin
        found = search_principals(query, PICKER_LIMIT)
        context.update(
            users=[p for p in found if isinstance(p, DirectoryUser)],
            groups=[p for p in found if isinstance(p, DirectoryGroup)],
        )
    context["q"] = query
    if (group_ref := request.GET.get("group")) and request.method != "POST":
        group = _group_or_none(group_ref)
        if group is None:
            context["error"] = _("Pick a group from the directory.")
        else:
            context.update(picked_group=group, group_members=_member_choices(group))
    if request.method == "POST":
        kind = request.POST.get("kind")
        object_ref = request.POST.get("object_id", "")
        model = {"User": DirectoryUser, "Group": DirectoryGroup}.get(kind or "")
        try:
            source = model.objects.get(object_id=uuid.UUID(object_ref)) if model else None
        except (ValueError, DirectoryUser.DoesNotExist, DirectoryGroup.DoesNotExist):
            source = None
        member_refs = request.POST.getlist("members") if kind == "Group" else []
        members = _chosen_members(source, member_refs) if isinstance(source, DirectoryGroup) else []
        if source is None:
            context["error"] = _("Pick a user or group from the directory to provision.")
        elif len(member_refs) > GROUP_MEMBERS_MAX:
            context["error"] = _("Choose at most %(count)s members of %(group)s (as in Entra).") % {
                "count": GROUP_MEMBERS_MAX,
                "group": source.display_name,
            }
            context.update(picked_group=source, group_members=_member_choices(source), chosen=member_refs)
        elif len(members) != len(member_refs):
            context["error"] = _("Choose members of %(group)s only.") % {"group": source.display_name}
            context.update(picked_group=source, group_members=_member_choices(source), chosen=member_refs)
        elif not application.provisioning.tenant_url:
            context["error"] = _("Set the admin credentials (Tenant URL and Secret Token) first.")
        else:
            job = application.provisioning
            # The chosen members first, so the group's membership can reference them in the target.
            member_outcomes = [(m, provision_on_demand(job, "User", str(m.object_id))) for m in members]
            outcome = provision_on_demand(job, kind, str(source.object_id))
            context.update(outcome=outcome, source=source, member_outcomes=member_outcomes)
    template = "provisioning/on_demand.html"
    if request.htmx and request.htmx.target == "picker-results":
        template += "#results"
    return render(request, template, context)


PLAN_ROWS_PER_ACTION = 500


def _group_or_none(reference: str) -> DirectoryGroup | None:
    try:
        return DirectoryGroup.objects.active().filter(object_id=uuid.UUID(reference)).first()
    except ValueError:
        return None


def _member_choices(group: DirectoryGroup) -> list[DirectoryUser]:
    """The group's user members to choose from (Entra lists them for a group on demand)."""
    return list(
        DirectoryUser.objects.filter(memberships__group=group).order_by("display_name")[:MEMBER_CHOICES]
    )


def _chosen_members(group: DirectoryGroup, references: list[str]) -> list[DirectoryUser]:
    ids = []
    for reference in references:
        try:
            ids.append(uuid.UUID(reference))
        except ValueError:
            continue
    return list(DirectoryUser.objects.filter(memberships__group=group, object_id__in=ids).distinct())


def plan_view(request: HttpRequest, object_id: uuid.UUID) -> HttpResponse:
    application = _application(object_id)
    context = blade_context(application, "plan", _("Plan (dry run)"))
    context["plan_actions"] = PLAN_ACTIONS
    if request.GET.get("run") and application.provisioning.tenant_url:
        result = plan(application.provisioning)
        action = request.GET.get("action", "")
        outcomes = [
            o
            for o in result.outcomes
            if not action
            or (o.pending or o.action) == action
            or (action == "Failed" and o.status == "failure")
        ]
        # Summarised by action, each group folded (<details>): a 5,000-object plan stays one screen tall.
        limit = 2000 if action else PLAN_ROWS_PER_ACTION  # one action chosen: list (nearly) all of it
        groups: dict[str, list] = {}
        for o in outcomes:
            groups.setdefault("Fail" if o.status == "failure" else (o.pending or o.action), []).append(o)
        context.update(
            plan=result,
            plan_groups=[
                {"action": name, "count": len(items), "rows": items[:limit]} for name, items in groups.items()
            ],
            rows_per_action=limit,
            action=action,
        )
    elif request.GET.get("run"):
        context["error"] = _("Set the admin credentials (Tenant URL and Secret Token) first.")
    return render(request, "provisioning/plan.html", context)


def deletions(request: HttpRequest, object_id: uuid.UUID) -> HttpResponse:
    """The disables and deletes a cycle staged but did not send (accidental-deletion prevention)."""
    application = _application(object_id)
    job = application.provisioning
    cycle = Cycle.objects.filter(job=job, status=CycleStatus.QUARANTINED).order_by("-started_at").first()
    staged = []
    if cycle:
        for items in CyclePage.objects.filter(
            cycle=cycle, phase=CyclePhase.DEPROVISION, status=PageStatus.PENDING
        ).values_list("items", flat=True):
            staged.extend(items)
    context = blade_context(application, "deletions", _("Staged deletions"))
    context.update(job=job, cycle=cycle, staged=staged[:5000], staged_total=len(staged))
    return render(request, "provisioning/deletions.html", context)


@require_POST
def allow_deletes(request: HttpRequest, object_id: uuid.UUID) -> HttpResponse:
    application = _application(object_id)
    if control.allow_deletes(application.provisioning, actor=request.user):
        messages.success(request, _("Deletions allowed: the staged disables and deletes are being sent."))
    else:
        messages.warning(request, _("No cycle is waiting for approval."))
    return redirect("provisioning:deletions", object_id=object_id)
