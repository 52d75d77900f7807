"""Helpers for tests: real local receivers (HTTP, SMTP) running in threads."""
