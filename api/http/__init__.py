"""HTTP-only pieces shared by every router: the session dependency, problem+json handlers,
page parameters, and the health probes."""
