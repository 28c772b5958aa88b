"""Relevance benchmark: ``evaluate_matching`` on the dev set, on both search backends, for each
text encoder, with the anchors beside every number.

    bin/bench relevance                          # ../shared/data/devset, encoder of the settings
    bin/bench relevance --encoders use e5 none   # the encoder comparison of docs/MATCHING.md
    bin/bench relevance --set DIR                # another judged set in the same format

Prints numbers; it is not a test. Each evaluation runs in a scratch database of its own.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", default=str(ROOT.parent / "shared" / "data" / "devset"))
    parser.add_argument("--encoders", nargs="+", default=None)
    parser.add_argument("--backend", default="both", choices=("embedded", "elasticsearch", "both"))
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    backend = args.backend if (args.backend != "both" or settings.ELASTICSEARCH_URL) else "embedded"
    for encoder in args.encoders or [settings.MATCHING_ENCODER]:
        print(f"\n== encoder {encoder}, set {args.set} ==")
        call_command("evaluate_matching", args.set, "--backend", backend, "--encoder", encoder)


if __name__ == "__main__":
    main()
