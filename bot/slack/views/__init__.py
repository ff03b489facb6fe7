"""Block Kit, all of it: pure functions from domain outcomes to Slack messages, modals and the Home tab.

One set of helpers (`blocks`) applies the limits after escaping, so no view can exceed a Block Kit limit or carry
unescaped text. Handlers decide what to show; views decide how it looks.
"""
