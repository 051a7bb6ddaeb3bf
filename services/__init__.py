"""Buursignaal's deployable services (one sub-package each) and their shared runtime."""
