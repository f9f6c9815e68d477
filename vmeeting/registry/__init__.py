"""Administrative units, endpoints (conference sites), bridges and groups."""
