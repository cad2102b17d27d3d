"""The MLFO's worker application: Celery tasks, leases, the reaper and recording results.

It depends on the platform (database, broker, storage) and on the pure pipeline layer in `mlfo`;
nothing in that layer imports it.
"""
