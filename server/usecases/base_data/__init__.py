"""Base data (人、地、事、物、组织): places, households, residents, key groups, organisations,
visits, the offline bundle and the read log (docs/base-data.md)."""
