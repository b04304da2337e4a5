"""Steward's daemon: wires intake, policies, scheduling, publishing and audit together.

This package decides *what* happens and *when*; `connectors` decide *how* to call a platform and
`policies` decide *whether* a post may go out. Keep modules here thin.
"""
