"""``manage.py fit_matching DIR [--seed N] [--write]``: fit matching's defaults to a judged set.

Loads the set into a scratch database (as ``evaluate_matching`` does), computes every eligible
pair's components once, and fits (``matching.evaluation.fitting``): the encoder's semantic
calibration, the component weights and context share (coordinate ascent, seeded), and the
``min_score`` cut-off. Prints the fitted values with the numbers before and after, in-sample and
cross-validated. ``--write`` stores them as the defaults for the encoder
(``matching/fitted/<encoder>.json``, read by the settings); moderators' values in the admin
still override them.

The set can be the dev set, or the secretariat's own history (``export_judgments``).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from matching.evaluation.judged_set import JudgedSetError, judged_set_read
from matching.evaluation.scratch import ScratchDatabase, run_in_scratch

FITTED_DIR = Path(settings.BASE_DIR) / "matching" / "fitted"


class Command(BaseCommand):
    help = "Fit matching's weights, semantic calibration and cut-off to a judged set (in a scratch database)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("directory", help="folder with needs.jsonl, offers.jsonl and judgments.jsonl")
        parser.add_argument("--seed", type=int, default=7, help="seed of the coordinate order (default 7)")
        parser.add_argument("--encoder", default=None, help="text encoder (default: MATCHING_ENCODER)")
        parser.add_argument(
            "--write", action="store_true", help="store the result as the encoder's defaults (matching/fitted/)"
        )
        parser.add_argument("--json", dest="json_path", default=None, help="also write the result as JSON here")
        parser.add_argument("--scratch", action="store_true", help="(internal) run inside the scratch database")

    def handle(self, *args, **options) -> None:
        directory = Path(options["directory"])
        try:
            judged = judged_set_read(directory)
        except JudgedSetError as exc:
            raise CommandError(f"{directory}: {exc}") from exc
        if options["scratch"]:
            self._fit_in_scratch(judged, options["seed"], options["json_path"])
            return
        arguments = [str(directory.resolve()), "--seed", str(options["seed"])]
        # Fitting reads no candidates from search: the embedded backend is enough.
        result = run_in_scratch("fit_matching", arguments, backend="embedded", encoder=options["encoder"])
        self._print(result)
        if options["json_path"]:
            Path(options["json_path"]).write_text(json.dumps(result, indent=2))
        if options["write"]:
            FITTED_DIR.mkdir(exist_ok=True)
            path = FITTED_DIR / f"{result['encoder']}.json"
            result["fitted_on"] = {"set": directory.name, "date": date.today().isoformat(), "seed": options["seed"]}
            path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
            self.stdout.write(self.style.SUCCESS(f"Wrote {path.relative_to(settings.BASE_DIR)}"))

    def _fit_in_scratch(self, judged, seed: int, json_path: str | None) -> None:
        from kb.vectors.sync import entry_vectors_reconcile
        from matching.engine import match_config
        from matching.evaluation.fitting import fit, pair_table
        from matching.evaluation.runner import EvaluationError, judged_set_load

        with ScratchDatabase():
            try:
                judged_set_load(judged)
            except EvaluationError as exc:
                raise CommandError(str(exc)) from exc
            entry_vectors_reconcile()
            config = match_config()
            table = pair_table(config.definition)
            result = fit(table, judged, config, seed=seed)
        report = {
            "encoder": settings.MATCHING_ENCODER,
            "defaults": result.defaults(),
            "pairs": result.pairs,
            "before": result.start,
            "in_sample": result.in_sample,
            "cross_validation": result.cross_validation,
            "semantic_only": result.semantic_only,
        }
        if json_path:
            Path(json_path).write_text(json.dumps(report, indent=2))

    def _print(self, result: dict) -> None:
        self.stdout.write(f"encoder {result['encoder']}, {result['pairs']} pairs")
        for name in ("semantic_only", "before", "in_sample"):
            if not result.get(name):
                continue
            metrics = result[name]["all"]
            other = result[name]["other"]
            self.stdout.write(
                f"  {name:<17} recall@5 {metrics['recall@5']:.3f}  nDCG@10 {metrics['nDCG@10']:.3f}"
                f"  | other: R@5 {other['recall@5']:.3f} nDCG {other['nDCG@10']:.3f}"
            )
        cv = result["cross_validation"]
        self.stdout.write(
            f"  {'cross-validated':<17} recall@5 {cv['all']['recall@5']:.3f}  nDCG@10 {cv['all']['nDCG@10']:.3f}"
            f"  | other: R@5 {cv['other']['recall@5']:.3f} nDCG {cv['other']['nDCG@10']:.3f}"
        )
        self.stdout.write("  defaults: " + json.dumps(result["defaults"]))
