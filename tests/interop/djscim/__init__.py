"""A minimal Django project serving django-scim2 (PyPI) as a provisioning target for tests/interop.

Its own settings, SQLite file and process: it never shares anything with the portal under test.
"""
