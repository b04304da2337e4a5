"""Replies and comments on the school's posts: classifying them, the response to each verdict,
the evidence kept first, and the school's own model."""
