from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.directory.models import DirectoryGroup, DirectoryUser


def user_list(request: HttpRequest) -> HttpResponse:
    users = DirectoryUser.objects.active()[:50]
    return render(request, "directory/user_list.html", {"users": users})


def group_list(request: HttpRequest) -> HttpResponse:
    groups = DirectoryGroup.objects.active()[:50]
    return render(request, "directory/group_list.html", {"groups": groups})
