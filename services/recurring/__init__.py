"""Recurring task service: the next occurrence of a series when one is completed."""
