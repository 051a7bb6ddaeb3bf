"""One exception for everything that stops the local infrastructure from starting.

Its message is a single sentence saying what is wrong and what to do; the CLI prints it and
exits non-zero, so no traceback reaches a person who only wanted a broker.
"""


class LocalInfraError(RuntimeError):
    """The local broker or database cannot be started, stopped or installed."""
