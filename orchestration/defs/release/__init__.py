"""Release: the published data package."""
