"""The audit log: the signed hash chain and its anchor, reading, verifying, reporting on and
retiring it."""
