"""Every query lives here; each team-scoped query takes the team id and filters by it."""
