"""The admin REST API (``/api/v1``): routes table, thin handlers, typed errors, sessions and
tokens, tenant isolation in every query. ``app.build_api`` puts it together."""
