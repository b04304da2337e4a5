"""What every wing runs on: the SQLite store, the clock, Ed25519 keys, logs, mail and the
systemd protocol. It imports no other wing."""
