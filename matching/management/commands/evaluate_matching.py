"""``manage.py evaluate_matching DIR``: measure matching on a judged set, beside two anchors.

The set (the dev set's format: needs.jsonl, offers.jsonl, judgments.jsonl) is loaded into a scratch
database (``matching.evaluation.scratch``), never into the database the command was started with:
reference data, the set's entries as published, their vectors, one full matching run on the chosen
backend, then recall@5, nDCG@10 and coverage, split by the need's language, beside the anchors.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from matching.evaluation.judged_set import JudgedSetError, judged_set_read
from matching.evaluation.scratch import BACKENDS, ScratchDatabase, run_in_scratch


def _row(name: str, metrics: dict) -> str:
    def cell(group: str, key: str) -> str:
        value = metrics[group][key]
        return "  n/a" if value is None else f"{value:5.3f}"

    return (
        f"  {name:<24} recall@5 {cell('all', 'recall@5')}  nDCG@10 {cell('all', 'nDCG@10')}"
        f"  coverage {cell('all', 'coverage')}  | en: R@5 {cell('en', 'recall@5')} nDCG {cell('en', 'nDCG@10')}"
        f"  | other: R@5 {cell('other', 'recall@5')} nDCG {cell('other', 'nDCG@10')}"
    )


class Command(BaseCommand):
    help = "Measure matching on a judged set (needs, offers, judgments) in a scratch database, beside anchors."

    def add_arguments(self, parser) -> None:
        parser.add_argument("directory", help="folder with needs.jsonl, offers.jsonl and judgments.jsonl")
        parser.add_argument(
            "--backend",
            choices=(*BACKENDS, "both"),
            default=None,
            help="search backend of the run (default: the configured one; 'both' runs each in turn)",
        )
        parser.add_argument("--encoder", default=None, help="text encoder (default: MATCHING_ENCODER)")
        parser.add_argument("--json", dest="json_path", default=None, help="also write the report as JSON here")
        parser.add_argument("--scratch", action="store_true", help="(internal) run inside the scratch database")

    def handle(self, *args, **options) -> None:
        directory = Path(options["directory"])
        try:
            judged = judged_set_read(directory)
        except JudgedSetError as exc:
            raise CommandError(f"{directory}: {exc}") from exc
        if options["scratch"]:
            self._run_in_scratch(judged, options["json_path"])
            return
        backends = BACKENDS if options["backend"] == "both" else (options["backend"] or settings.SEARCH_BACKEND,)
        reports = {}
        for backend in backends:
            reports[backend] = run_in_scratch(
                "evaluate_matching", [str(directory.resolve())], backend=backend, encoder=options["encoder"]
            )
            self._print(backend, reports[backend])
        if options["json_path"]:
            Path(options["json_path"]).write_text(json.dumps(reports, indent=2))

    def _run_in_scratch(self, judged, json_path: str | None) -> None:
        from matching.evaluation.runner import EvaluationError, evaluation_run

        with ScratchDatabase():
            try:
                evaluation = evaluation_run(judged)
            except EvaluationError as exc:
                raise CommandError(str(exc)) from exc
        report = evaluation.as_dict()
        report["encoder"] = settings.MATCHING_ENCODER
        report["backend"] = settings.SEARCH_BACKEND
        if json_path:
            Path(json_path).write_text(json.dumps(report, indent=2))

    def _print(self, backend: str, report: dict) -> None:
        run = report["run"]
        self.stdout.write(
            f"{backend} (encoder {report['encoder']}): {run['needs']} needs, {run['candidates']} candidates, "
            f"{run['assigned']} pairs assigned, run {sum(run['timings'].values()):.1f} s"
        )
        self.stdout.write(_row("matching", report["product"]))
        for name, metrics in report["anchors"].items():
            self.stdout.write(_row(f"anchor: {name}", metrics))
