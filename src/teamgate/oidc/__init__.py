"""teamgate as an OpenID Connect provider (DESIGN 13), built on Authlib's authorization server
and joserfc: discovery, authorize, token, userinfo, JWKS, revocation, introspection, logout."""
