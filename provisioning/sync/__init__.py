"""The layer that drives the engine: cycles and pages, control (on/off), credentials, quarantine, escrow."""
