"""The shared kernel: what every layer may use and what imports nothing of ours.

settings (the one Settings object), logging, redis (the one client), clock, problems (the error
type, without FastAPI), email, ratelimit, location (the location-privacy rule), loop_local (one
client per event loop), paging, after_commit (side effects that wait for the commit), text (the
control-character rule of every request).
"""
