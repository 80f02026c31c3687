"""Provisioning logs: writer (one row per object per cycle), query (the logs blade), export (Graph JSON, CSV) and retention."""
