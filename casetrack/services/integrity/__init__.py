"""Keeping the record whole: the audit chain's verification and consistent backups."""
