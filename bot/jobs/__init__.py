"""Durable background work: what was acknowledged to Slack is done at least once, by any process, even across a
crash. Built on streaq (Redis streams with consumer groups). Knows no Slack and no Meet: the layers above
register their jobs and enqueue plain data."""
