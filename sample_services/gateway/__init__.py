"""The gateway: the fleet's only public entry (JWT auth, rate limit, routing, composition)."""
