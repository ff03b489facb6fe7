"""Google identity: OAuth with PKCE (authorization URL, code exchange, refresh, revoke, userinfo), domain-wide
delegation, and a google-auth transport over httpx (no `requests`)."""
