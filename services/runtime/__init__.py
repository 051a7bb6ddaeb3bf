"""Shared runtime for the three services: settings, broker, database, metrics, outbox, dedup.

Only plumbing lives here; domain code stays in the service that owns it.
"""
