"""Organisations that offer or request assistance.

An organisation belongs to a State (a ministry, an anti-corruption agency, a court...) or, with no
State, is an international organisation. Names are unique within a State, and unique among
international organisations.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganisationKind(models.TextChoices):
    MINISTRY = "ministry", _("Ministry or government department")
    ANTI_CORRUPTION_AGENCY = "anti_corruption_agency", _("Anti-corruption agency")
    JUDICIARY_PROSECUTION = "judiciary_prosecution", _("Judiciary or prosecution service")
    AUDIT_INSTITUTION = "audit_institution", _("Supreme audit institution")
    FINANCIAL_INTELLIGENCE_UNIT = "financial_intelligence_unit", _("Financial intelligence unit")
    LAW_ENFORCEMENT = "law_enforcement", _("Law enforcement")
    INTERNATIONAL_ORGANISATION = "international_organisation", _("International organisation")
    CIVIL_SOCIETY = "civil_society", _("Civil society or academia")
    OTHER = "other", _("Other")


class Organisation(models.Model):
    name = models.CharField(_("name"), max_length=200)
    acronym = models.CharField(_("acronym"), max_length=30, blank=True)
    country = models.ForeignKey(
        "kb.Country",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organisations",
        verbose_name=_("State"),
        help_text=_("Empty for an international organisation."),
    )
    kind = models.CharField(_("kind"), max_length=40, choices=OrganisationKind.choices, default=OrganisationKind.OTHER)
    website = models.URLField(_("website"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["country", "name"],
                condition=models.Q(country__isnull=False),
                name="kb_organisation_unique_in_state",
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(country__isnull=True),
                name="kb_organisation_unique_international",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_international(self) -> bool:
        return self.country_id is None
