"""The exit codes of every `filmo` command (the table in README.md, "Operator CLI").

A script can tell "try again later" (a service is down: 4-6, or busy: 3) from "look at it" (1) and from a
mistake in the command line (2). One line on stderr always says which and why.
"""
from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    PROBLEM = 1            # the command ran and found something wrong: differences, refused documents, ...
    USAGE = 2              # bad arguments (unknown command or option, invalid value)
    BUSY = 3               # another process holds the lock (a reindex or rollback of that index is running)
    DATABASE_DOWN = 4      # PostgreSQL cannot be reached
    OPENSEARCH_DOWN = 5    # OpenSearch cannot be reached (or answers 5xx/429 past the retries)
    REDIS_DOWN = 6         # Redis cannot be reached
    INTERNAL = 70          # a bug: an unexpected error (FILMO_CLI_TRACEBACK=1 prints the traceback)
    INTERRUPTED = 130      # Ctrl-C / SIGINT (a reindex resumes from its checkpoint on the next run)
