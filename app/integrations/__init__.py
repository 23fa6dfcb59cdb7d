"""Integrations with external systems (accounting). One subpackage per system."""
