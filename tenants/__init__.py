"""Tenants and their domains (public schema); tenant configuration lives in ``tenants.configuration``."""
