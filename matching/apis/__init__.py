"""REST API of matching (``/api/v1/matching/``, ``/api/v1/engagements/``, ``/api/v1/notifications/``)."""
