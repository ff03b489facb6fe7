"""Google Meet REST API v2: an async client over httpx (`client`), typed models (`models`), the error tree
(`errors`), retries (`retry`), update masks (`masks`) and meeting-link parsing (`links`). Import a name from the
module that defines it.

Lowest layer: imports nothing from bot.core, bot.slack, bot.store or bot.google.
"""
