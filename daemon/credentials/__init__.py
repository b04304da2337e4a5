"""The accounts belong to the school: the encrypted vault, the escrow bundle for its holders,
and the handover from one administrator to another."""
