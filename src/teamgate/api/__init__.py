"""The HTTP/JSON API, v1."""
