"""Channel providers and delivery records."""
