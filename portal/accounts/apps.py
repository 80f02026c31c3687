from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Sign-in (local accounts and Microsoft Entra ID), portal roles and the access policy."""

    name = "portal.accounts"
    label = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        from django.core import checks

        import portal.i18n.preferences  # noqa: F401  (restores a user's language at sign-in)
        from portal.accounts.msal_auth import check_settings

        checks.register(check_settings)
