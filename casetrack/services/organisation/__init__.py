"""Accounts and the organisation: users, tokens, login throttling, units, categories, and the reference data every filing reads."""
