"""Use cases: plain async functions and small classes, dataclasses in and out, domain errors with a reason."""
