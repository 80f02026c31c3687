"""The Provisioning blade's pages; one module per page (``configuration``...), routed in ``provisioning.urls``."""
