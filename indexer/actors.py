"""Search indexer actors."""
import indexer.broker  # noqa: F401  (binds actors to the Redis broker)
