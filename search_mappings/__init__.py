"""The OpenSearch index definitions (settings + mappings, one JSON file per index kind), as package data.

A package so that the wheel carries them: indexer/mappings.py reads them with importlib.resources, never
from a path relative to the checkout (see README.md here for versioning rules).
"""
