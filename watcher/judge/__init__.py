"""The judge and its rules (pure): observations in, one decision out."""
