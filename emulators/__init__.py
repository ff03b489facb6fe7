"""Local, faithful stand-ins for Slack and Google, served over real HTTP on 127.0.0.1."""
