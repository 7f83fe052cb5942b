"""What the clock starts: the deadline sweep and extension requests (延期)."""
