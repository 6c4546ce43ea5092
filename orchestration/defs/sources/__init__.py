"""Sources: fetchers that land snapshots, loaders that parse snapshots into the raw tables."""
