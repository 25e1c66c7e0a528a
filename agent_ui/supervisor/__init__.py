"""Supervisors' pages."""
