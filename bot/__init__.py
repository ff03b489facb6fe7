"""meetbot: run Google Meet from Slack."""
