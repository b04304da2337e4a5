"""Policies: pure functions that decide whether a submission may be published.

Each rule is one module with one `RULE` of the uniform shape `Rule(id, clause, check)`, where
`check(submission, context) -> list[Finding]`. Rules do no network I/O, never read the clock
(the time comes in `PolicyContext.now`) and never log: the daemon records their findings.
Each finding names the school-policy clause it enforces (`policies.clauses`).
"""
