"""Slack adapter: Bolt listeners, the /meet grammar, Block Kit builders and mrkdwn escaping."""
