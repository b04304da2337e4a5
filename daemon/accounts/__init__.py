"""The school's accounts on the platforms: connecting to them, and keeping followers, following,
messages and settings the way the policy says."""
