"""What the API (api/) and the pages (web/) share: the request's unit of work, who is calling,
the client's address, cookies, CSRF for forms, rate-limit dependencies, middleware and the one
mapping of domain errors to HTTP. Neither api/ nor web/ imports the other; both import this."""
