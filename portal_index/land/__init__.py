"""Landing: inputs become immutable snapshots, snapshots are parsed into the warehouse's raw tables
(with a ledger of what was loaded or rejected)."""
