"""Data sets: the demo county and generated counties or provinces."""
