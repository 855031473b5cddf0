"""Plan catalogue, subscriptions, usage and quotas, invoices (public schema)."""
