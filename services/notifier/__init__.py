"""Notifier: legs per recipient, response clocks, resident mail, escalation and patterns."""
