"""Use cases, in packages by capability; arrows point one way (pyproject.toml's import-linter contracts, tests/test_layers.py)."""
