"""Provisioning logs: query (the logs blade), export (Graph JSON, CSV) and retention."""
