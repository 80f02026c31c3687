"""The provisioning blade's forms: configuration (credentials, settings) and mappings."""
