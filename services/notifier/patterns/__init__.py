"""Pattern detection for the national table: burst rule, space-time scan, facility recurrence."""
