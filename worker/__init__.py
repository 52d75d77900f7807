"""policywatch: export-control news in, scored alerts out."""

__version__ = "0.1.0"
