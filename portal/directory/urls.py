from django.urls import path

from portal.directory import views

app_name = "directory"
urlpatterns = [
    path("users/", views.user_list, name="user_list"),
    path("groups/", views.group_list, name="group_list"),
]
