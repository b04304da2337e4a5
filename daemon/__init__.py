"""Steward's daemon, one wing per concern (the folders here), wired together by `service.py`
(the long-running service) and `demo.py` (the sandbox scenario).

`runtime/` is what every wing runs on; `posts/`, `audit/`, `moderation/`, `accounts/` and
`credentials/` each own one concern; `cli/` declares the commands. Imports only run downward:
no wing imports `cli/`, `service.py` or `demo.py`, and `runtime/` imports no other wing. The
daemon decides *when* and wires; `policies` decide *whether*, `connectors` decide *how*.
"""
