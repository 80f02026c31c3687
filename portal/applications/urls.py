from django.urls import path

from portal.applications import views

app_name = "applications"
urlpatterns = [
    path("", views.app_list, name="app_list"),
    path("gallery/", views.gallery, name="gallery"),
    path("gallery/<slug:template_id>/", views.gallery_create, name="gallery_create"),
    path("<uuid:object_id>/", views.overview, name="overview"),
    path("<uuid:object_id>/properties/", views.properties, name="properties"),
    path("<uuid:object_id>/delete/", views.delete, name="delete"),
    path("<uuid:object_id>/users/", views.assignments, name="assignments"),
    path("<uuid:object_id>/users/effective/", views.effective, name="effective"),
    path("<uuid:object_id>/users/add/", views.assignment_add, name="assignment_add"),
    path(
        "<uuid:object_id>/users/<uuid:assignment_id>/remove/",
        views.assignment_remove,
        name="assignment_remove",
    ),
]
