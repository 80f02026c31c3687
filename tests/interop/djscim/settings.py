"""Settings of the django-scim2 target: a User and a Group model with django-scim2's mixins."""

import os

SECRET_KEY = "interop-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django_scim",
    "djscim",
]
MIDDLEWARE = ["djscim.auth.BearerTokenMiddleware", "django_scim.middleware.SCIMAuthCheckMiddleware"]
ROOT_URLCONF = "djscim.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["DJSCIM_DB"]}}
AUTH_USER_MODEL = "djscim.User"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
SCIM_SERVICE_PROVIDER = {
    "NETLOC": "127.0.0.1",
    "SCHEME": "http",
    "GROUP_MODEL": "djscim.models.Group",
    "GROUP_FILTER_PARSER": "djscim.models.GroupFilterQuery",
    "AUTHENTICATION_SCHEMES": [{"type": "oauthbearertoken", "name": "Bearer", "description": "token"}],
}
