from django.apps import AppConfig


class CoreConfig(AppConfig):
    """No models of its own."""

    name = "core"
