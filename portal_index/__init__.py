"""Vietnam government portal quality index: the plain (Dagster-free) domain modules."""

__version__ = "0.1.0"
