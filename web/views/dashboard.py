"""The secretariat's dashboard: demand against supply, filtered by period, region and chapter,
each chart with its CSV, and a printable report of the same picture."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language_bidi, gettext_lazy, pgettext
from django.utils.translation import gettext as _

from kb.models import Region, UncacChapter
from web import selectors
from web.charts import bar_chart, demand_supply_map
from web.views.common import AuthenticatedHttpRequest, moderator_required
from web.widgets import IsoDateField

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

TABLES = {
    "chapters": selectors.demand_supply_by_chapter,
    "articles": selectors.demand_supply_by_article,
    "regions": selectors.demand_supply_by_region,
    "groups": selectors.demand_supply_by_group,
    "ta_types": selectors.demand_supply_by_ta_type,
}


#: A spreadsheet reads a cell starting with one of these as a formula (CSV/formula injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """``value`` safe to open in a spreadsheet: text that would start a formula gets a leading
    apostrophe (shown as text, the content kept); numbers and dates are written as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class _SafeWriter:
    def __init__(self, out: SupportsWrite[str]) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([csv_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


class DashboardFilterForm(forms.Form):
    since = IsoDateField(label=gettext_lazy("Published from"), required=False)
    until = IsoDateField(label=gettext_lazy("Published until"), required=False)
    region = forms.ModelChoiceField(
        label=gettext_lazy("Region"),
        queryset=Region.objects.filter(kind="region"),
        required=False,
        empty_label=gettext_lazy("All regions"),
    )
    chapter = forms.ModelChoiceField(
        label=gettext_lazy("UNCAC chapter"),
        queryset=UncacChapter.objects.all(),
        required=False,
        empty_label=gettext_lazy("All chapters"),
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("The end of the period is before its start."))
        return data

    def dashboard_filter(self) -> selectors.DashboardFilter:
        data = self.cleaned_data if self.is_valid() else {}
        return selectors.DashboardFilter(
            since=data.get("since"), until=data.get("until"), region=data.get("region"), chapter=data.get("chapter")
        )


def _titles() -> dict[str, str]:
    return {
        "chapters": _("Needs and offers by UNCAC chapter"),
        "articles": _("Needs and offers by article (largest gaps first)"),
        "regions": _("Needs and offers open to each region"),
        "groups": _("Needs and offers by UN regional group"),
        "ta_types": _("Needs and offers by type of assistance"),
    }


def _map_legend() -> tuple[str, str, str, str]:
    return (
        _("More needs than offers"),
        _("Balanced"),
        _("More offers than needs"),
        _("Each cell: needs / offers open to the region"),
    )


def _picture(request: HttpRequest) -> dict[str, Any]:
    form = DashboardFilterForm(request.GET or None)
    f = form.dashboard_filter() if form.is_bound else selectors.DashboardFilter()
    rtl = get_language_bidi()
    series = [_("Needs"), _("Offers")]
    tables = {name: build(f) for name, build in TABLES.items()}
    titles = _titles()
    charts = {
        name: bar_chart(
            [(r.label, [r.needs, r.offers]) for r in rows[:25]], series, title=titles[name], rtl=rtl, ident=name
        )
        for name, rows in tables.items()
    }
    grid = selectors.demand_supply_article_region(f)
    heat_rows = [(f"{a.number}. {a.title}", [grid.cell(a, r) for r in grid.regions]) for a in grid.articles]
    with_ss, total = selectors.south_south_share(f)
    outcomes = selectors.engagement_outcomes()
    deliveries = selectors.engagement_deliveries()
    labels = dict(_uncovered_reason_labels())
    query = urlencode([(k, request.GET[k]) for k in request.GET if k in form.fields and request.GET[k]])
    return {
        "form": form,
        "filter": f,
        "query": query,
        "titles": titles,
        "tables": tables,
        "charts": charts,
        "grid": grid,
        "heatmap": demand_supply_map(
            [r.display_name for r in grid.regions],
            heat_rows,
            title=_("Needs and offers by UNCAC article and region"),
            row_title=_("UNCAC article"),
            legend=_map_legend(),
            rtl=rtl,
        ),
        "map_legend": _map_legend(),
        "south_south": (with_ss, total, with_ss / total if total else 0),
        "uncovered": selectors.needs_without_candidate(f),
        "uncovered_reasons": {
            pk: labels.get(reason, labels[""]) for pk, reason in selectors.uncovered_reasons().items()
        },
        "not_matched": labels[""],
        "outcomes": outcomes,
        "outcomes_chart": bar_chart(
            [(label, [n]) for _v, label, n in outcomes],
            [_("Engagements")],
            title=_("Engagement outcomes"),
            rtl=rtl,
            ident="outcomes",
        ),
        "deliveries": deliveries,
        "deliveries_chart": bar_chart(
            [(label, [n]) for _v, label, n in deliveries],
            [_("Completed engagements")],
            title=_("What completed engagements delivered"),
            rtl=rtl,
            ident="deliveries",
        ),
        "generated_at": timezone.now(),
    }


@moderator_required
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(request, "web/dashboard.html", _picture(request))


@moderator_required
def dashboard_report(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The same picture laid out for printing: no navigation, every chart with its numbers."""
    return render(request, "web/dashboard_report.html", _picture(request))


def _iso(value: dt.date | dt.datetime | None) -> str:
    """Dates in files are ISO 8601 (2026-12-03): unambiguous and sortable in any spreadsheet."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return value.isoformat() if value else ""


@moderator_required
def dashboard_csv(request: AuthenticatedHttpRequest, name: str) -> HttpResponse:
    """One chart's numbers as CSV: UTF-8 with a byte-order mark (spreadsheet software then reads
    Arabic, Chinese and Cyrillic correctly), headers and labels in the reader's language, codes kept
    in a column of their own for machines."""
    form = DashboardFilterForm(request.GET or None)
    f = form.dashboard_filter() if form.is_bound else selectors.DashboardFilter()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ta-exchange-{name}.csv"'
    response.write("\ufeff")
    writer = _SafeWriter(response)
    if name in TABLES:
        writer.writerow([_("Code"), _("Label"), _("Needs"), _("Offers"), _("Gap (needs − offers)")])
        for row in TABLES[name](f):
            writer.writerow([row.key, row.label, row.needs, row.offers, row.gap])
    elif name == "heatmap":
        grid = selectors.demand_supply_article_region(f)
        writer.writerow([_("Article"), _("Title"), _("Region"), _("Needs"), _("Offers"), _("Gap (needs − offers)")])
        for article in grid.articles:
            for region in grid.regions:
                needs, offers = grid.cell(article, region)
                writer.writerow([article.number, article.title, region.display_name, needs, offers, needs - offers])
    elif name == "outcomes":
        writer.writerow([_("Code"), pgettext("engagement", "State"), _("Engagements")])
        writer.writerows(selectors.engagement_outcomes())
    elif name == "deliveries":
        writer.writerow([_("Code"), _("Result"), _("Completed engagements")])
        writer.writerows(selectors.engagement_deliveries())
    elif name == "uncovered":
        reasons = selectors.uncovered_reasons()
        labels = dict(_uncovered_reason_labels())
        writer.writerow(
            [
                _("Need"),
                _("External id"),
                _("Title"),
                _("ISO code"),
                pgettext("country", "State"),
                _("Published"),
                _("Why"),
            ]
        )
        for need in selectors.needs_without_candidate(f, limit=10_000):
            reason = reasons.get(need.pk, "")
            writer.writerow(
                [
                    need.pk,
                    need.external_id,
                    need.title,
                    need.country.iso3,
                    need.country.display_name,
                    _iso(need.published_at),
                    labels.get(reason, labels[""]),
                ]
            )
    elif name == "south_south":
        with_ss, total = selectors.south_south_share(f)
        writer.writerow([_("Published needs with a South-South candidate"), _("Published needs")])
        writer.writerow([with_ss, total])
    else:
        raise Http404
    return response


def _uncovered_reason_labels() -> list[tuple[str, str]]:
    return [
        ("no_candidate", _("No provider matches this need")),
        ("only_non_south_south", _("Only providers outside the global South match")),
        ("capacity_exhausted", _("Matching providers have no capacity left")),
        ("below_threshold", _("No match is strong enough to propose")),
        ("", _("Not matched yet")),
    ]
