"""REST API of the knowledge base (``/api/v1/``): thin views over selectors and services."""
