"""Server-rendered pages (Jinja2, autoescaped), on the same services as the API."""
