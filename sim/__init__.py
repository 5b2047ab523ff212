"""causalsim package."""
