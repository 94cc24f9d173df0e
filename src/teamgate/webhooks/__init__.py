"""Webhook delivery's adapters: signing (Standard Webhooks), address checks, and the HTTP client.
Like email/, a kind of outbox message; the only package below http/ allowed to use httpx."""
