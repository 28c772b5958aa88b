"""Entry vectors: the text encoder (``encoders``) and keeping each entry's vectors current (``sync``)."""
