"""The tenant REST API (DRF), served on each tenant's host under ``/api/v1/``."""
