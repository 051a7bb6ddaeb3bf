"""Local infrastructure for one laptop and for the tests: a real Kafka broker and PostgreSQL.

Nothing here runs in production; production points the services at a managed broker and
database through settings (see ``deploy/``).
"""
