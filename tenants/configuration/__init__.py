"""A tenant's own configuration (tenant schema): services, contacts, channels, recovery actions."""
