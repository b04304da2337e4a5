"""A post's life: reading a submission from the inbox, its approvals, judging and preparing it,
scheduling and publishing it exactly once, and the rosters the rules read."""
