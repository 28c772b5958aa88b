"""What every REST endpoint shares: the error shape, pagination, permissions, throttling, and
refusing fields a client may not set."""
