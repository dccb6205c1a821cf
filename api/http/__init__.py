"""HTTP-only pieces shared by every router: the session dependency, problem+json handlers (and the
error boundary), page parameters, the health probes, and the input guard (body limit, control characters)."""
