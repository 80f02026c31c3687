"""Sign-in URLs. Not namespaced, so the ``login`` and ``logout`` names stay what Django expects."""

from django.urls import path

from portal.accounts import views

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("microsoft/", views.microsoft_sign_in, name="microsoft_sign_in"),
    path("microsoft/callback/", views.microsoft_callback, name="microsoft_callback"),
]
