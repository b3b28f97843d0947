"""The use cases: one job from the caller's arguments to a typed outcome (edit, read, list), and the waiting."""
