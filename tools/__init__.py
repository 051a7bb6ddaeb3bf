"""Tools around the three services: the command line, the local stack, the demo, contract exports
and deployment rendering. Nothing in `services/` imports from here."""
