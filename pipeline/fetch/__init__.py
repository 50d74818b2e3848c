"""Fetching pages: the HTTP client, robots.txt, per-host limits (local and shared), decoding, URL rules."""
