"""The `steward` command: one module per wing declares that wing's commands; `main` gathers
them. Commands call the wings; no wing calls back."""
