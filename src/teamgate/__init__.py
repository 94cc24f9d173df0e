"""teamgate: self-hosted team invitations."""

__version__ = "0.1.0"
