"""Pure rules: no SQLAlchemy, no HTTP. Services apply them to stored records."""
