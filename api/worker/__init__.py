"""The job runner: the Dramatiq broker, the list of task modules, enqueueing by name, and the scheduler.

Domains and the search indexer are its users: each keeps its actors in a `tasks.py` listed in
`registry.TASK_MODULES`, and declares its periodic ones with `registry.periodic`. Nothing here
imports a domain.
"""
