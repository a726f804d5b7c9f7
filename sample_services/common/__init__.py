"""Code every sample service shares: settings, database, telemetry, the outbound client."""
