"""The secretariat's dashboard: demand and supply at a glance, each chart with its CSV."""

from __future__ import annotations

import csv

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from web import selectors
from web.charts import bar_chart, heat_map
from web.views.common import moderator_required

TABLES = {
    "chapters": selectors.demand_supply_by_chapter,
    "articles": selectors.demand_supply_by_article,
    "regions": selectors.demand_supply_by_region,
    "groups": selectors.demand_supply_by_group,
    "ta_types": selectors.demand_supply_by_ta_type,
}


def _series() -> list[str]:
    return [_("Needs"), _("Offers")]


@moderator_required
def dashboard(request):
    tables = {name: build() for name, build in TABLES.items()}
    charts = {
        name: bar_chart([(r.label, [r.needs, r.offers]) for r in rows[:25]], _series(), title=title)
        for (name, rows), title in zip(
            tables.items(),
            [
                _("Needs and offers by UNCAC chapter"),
                _("Needs and offers by article (largest gaps first)"),
                _("Needs and offers by region"),
                _("Needs and offers by UN regional group"),
                _("Needs and offers by type of assistance"),
            ],
            strict=True,
        )
    }
    columns, heat_rows = selectors.heatmap_article_region()
    with_ss, total = selectors.south_south_share()
    outcomes = selectors.engagement_outcomes()
    context = {
        "tables": tables,
        "charts": charts,
        "heatmap": heat_map(columns, heat_rows, title=_("Needs by UNCAC article and region"), row_title=_("Article")),
        "south_south": (with_ss, total, with_ss / total if total else 0),
        "uncovered": selectors.needs_without_candidate(),
        "uncovered_reasons": selectors.uncovered_reasons(),
        "outcomes": outcomes,
        "outcomes_chart": bar_chart(
            [(label, [n]) for _v, label, n in outcomes], [_("Engagements")], title=_("Engagement outcomes")
        ),
    }
    return render(request, "web/dashboard.html", context)


@moderator_required
def dashboard_csv(request, name: str):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ta-exchange-{name}.csv"'
    writer = csv.writer(response)
    if name in TABLES:
        writer.writerow(["key", "label", "needs", "offers", "gap"])
        for row in TABLES[name]():
            writer.writerow([row.key, row.label, row.needs, row.offers, row.gap])
    elif name == "heatmap":
        columns, rows = selectors.heatmap_article_region()
        writer.writerow(["article", *columns])
        for label, values in rows:
            writer.writerow([label, *values])
    elif name == "outcomes":
        writer.writerow(["state", "label", "engagements"])
        writer.writerows(selectors.engagement_outcomes())
    elif name == "uncovered":
        reasons = selectors.uncovered_reasons()
        writer.writerow(["need", "external_id", "title", "state", "published_at", "reason"])
        for need in selectors.needs_without_candidate(limit=10_000):
            writer.writerow(
                [need.pk, need.external_id, need.title, need.country.iso3, need.published_at, reasons.get(need.pk, "")]
            )
    elif name == "south_south":
        with_ss, total = selectors.south_south_share()
        writer.writerow(["needs_with_south_south_candidate", "published_needs"])
        writer.writerow([with_ss, total])
    else:
        raise Http404
    return response
