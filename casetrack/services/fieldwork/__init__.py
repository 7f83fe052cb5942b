"""Visits and coverage: targets, visits, coverage and the campaign ledger."""
