from rest_framework.throttling import UserRateThrottle


class WriteRateThrottle(UserRateThrottle):
    """Limits writes (POST, PUT, PATCH, DELETE) per user; reads are not throttled."""

    scope = "writes"

    def allow_request(self, request, view) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return super().allow_request(request, view)
