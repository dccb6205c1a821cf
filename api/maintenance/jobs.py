"""Maintenance actors (nightly cleanup); filled by the projects work."""
import indexer.broker  # noqa: F401  (binds actors to the Redis broker)
