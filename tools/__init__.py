"""Maintainer scripts run from a clone (``python -m tools.NAME``); not part of the installed
packages."""
