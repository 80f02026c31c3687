"""Attribute mappings and scoping filters: evaluation and validation (plain Python, no Django)."""
