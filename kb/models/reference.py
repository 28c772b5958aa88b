"""Reference data: States, M49 regions, languages, the UNCAC structure and the TA taxonomy.

Loaded (idempotently) by ``manage.py load_reference_data`` from ``kb/reference_data/``. Labels of
the taxonomy are translated per language with django-modeltranslation (``kb/translation.py``);
names of States, regions and languages come from CLDR through Babel at load time.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def content_language_code(ui_language: str | None = None) -> str:
    """Map a Django UI language code (``zh-hans``) to the ISO 639-1 code used for content (``zh``)."""
    code = (ui_language or get_language() or settings.LANGUAGE_CODE).lower()
    return code.split("-")[0]


class LocalisedNamesMixin(models.Model):
    """A model whose display name exists in several languages (stored at load time)."""

    names = models.JSONField(_("names by language"), default=dict, blank=True)
    name: str  # each model declares its own ``name`` field (the English name)

    class Meta:
        abstract = True

    @property
    def display_name(self) -> str:
        return self.names.get(content_language_code()) or self.name


class RegionKind(models.TextChoices):
    REGION = "region", _("Region")
    SUBREGION = "subregion", _("Sub-region")


class Region(LocalisedNamesMixin):
    """An M49 region (e.g. Africa) or sub-region (e.g. Western Africa)."""

    m49_code = models.CharField(_("M49 code"), max_length=3, unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=RegionKind.choices)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subregions",
        verbose_name=_("region"),
    )

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.display_name


class RegionalGroup(models.TextChoices):
    AFRICAN = "african", _("African Group")
    ASIA_PACIFIC = "asia_pacific", _("Asia-Pacific Group")
    EASTERN_EUROPEAN = "eastern_european", _("Eastern European Group")
    GRULAC = "grulac", _("Latin American and Caribbean Group")
    WEOG = "weog", _("Western European and Others Group")


class Country(LocalisedNamesMixin):
    """A State (UN Member State or non-member party to UNCAC)."""

    iso3 = models.CharField(_("ISO 3166-1 alpha-3"), max_length=3, unique=True)
    iso2 = models.CharField(_("ISO 3166-1 alpha-2"), max_length=2, unique=True)
    name = models.CharField(_("name (English)"), max_length=100)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="countries", verbose_name=_("region"))
    subregion = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="subregion_countries",
        verbose_name=_("sub-region"),
    )
    regional_group = models.CharField(_("UN regional group"), max_length=20, choices=RegionalGroup.choices, blank=True)
    g77 = models.BooleanField(_("Group of 77 member"), default=False)
    m49_developing = models.BooleanField(_("M49 developing region"), default=False)
    ldc = models.BooleanField(_("least developed country"), default=False)
    sids = models.BooleanField(_("small island developing State"), default=False)
    un_member = models.BooleanField(_("UN Member State"), default=True)

    class Meta:
        verbose_name = _("State")
        verbose_name_plural = _("States")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.display_name

    def is_global_south(self, definition: str | None = None) -> bool:
        """Whether this State counts as "global South" under the configured definition."""
        definition = definition or settings.SOUTH_SOUTH_DEFINITION
        return self.m49_developing if definition == "m49" else self.g77


class Language(LocalisedNamesMixin):
    """An ISO 639-1 language; the six UN languages are flagged."""

    code = models.CharField(_("ISO 639-1 code"), max_length=2, primary_key=True)
    name = models.CharField(_("name (English)"), max_length=100)
    is_un_language = models.BooleanField(_("UN official language"), default=False)

    class Meta:
        verbose_name = _("language")
        verbose_name_plural = _("languages")
        ordering = ["-is_un_language", "name"]

    def __str__(self) -> str:
        return self.display_name


# The plugin cannot resolve the reverse manager of UncacArticle.chapter: modeltranslation builds
# UncacArticle's manager class at run time (the annotations below give each model's manager type).
class UncacChapter(models.Model):  # type: ignore[django-manager-missing]
    objects: ClassVar[models.Manager[UncacChapter]]  # modeltranslation's MultilingualManager at run time

    number = models.PositiveSmallIntegerField(_("number"), primary_key=True)
    roman = models.CharField(_("roman numeral"), max_length=5)
    title = models.CharField(_("title"), max_length=200)
    first_article = models.PositiveSmallIntegerField(_("first article"))
    last_article = models.PositiveSmallIntegerField(_("last article"))

    class Meta:
        verbose_name = _("UNCAC chapter")
        verbose_name_plural = _("UNCAC chapters")
        ordering = ["number"]

    def __str__(self) -> str:
        return _("Chapter %(roman)s: %(title)s") % {"roman": self.roman, "title": self.title}


class UncacArticle(models.Model):
    objects: ClassVar[models.Manager[UncacArticle]]  # modeltranslation's MultilingualManager at run time

    number = models.PositiveSmallIntegerField(_("number"), primary_key=True)
    chapter = models.ForeignKey(
        UncacChapter, on_delete=models.PROTECT, related_name="articles", verbose_name=_("chapter")
    )
    title = models.CharField(_("title"), max_length=200)

    class Meta:
        verbose_name = _("UNCAC article")
        verbose_name_plural = _("UNCAC articles")
        ordering = ["number"]

    def __str__(self) -> str:
        return _("Art. %(number)s (%(title)s)") % {"number": self.number, "title": self.title}


class TaxonomyTerm(models.Model):
    """A coded, translatable taxonomy entry (TA type, thematic area, modality)."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    label = models.CharField(_("label"), max_length=120)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        abstract = True
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.label


class TAType(TaxonomyTerm):
    """A type of technical assistance, as categorised by the review mechanism."""

    objects: ClassVar[models.Manager[TAType]]  # modeltranslation's MultilingualManager at run time

    description = models.CharField(_("description"), max_length=300, blank=True)
    terms = models.JSONField(
        _("recognition terms"),
        default=dict,
        blank=True,
        help_text=_("Phrases per language (ISO 639-1) that signal this type in free text."),
    )

    class Meta(TaxonomyTerm.Meta):
        verbose_name = _("TA type")
        verbose_name_plural = _("TA types")


class ThematicArea(TaxonomyTerm):
    """A cross-cutting theme; moderators can add new ones in the admin."""

    objects: ClassVar[models.Manager[ThematicArea]]  # modeltranslation's MultilingualManager at run time

    description = models.CharField(_("description"), max_length=300, blank=True)
    terms = models.JSONField(
        _("recognition terms"),
        default=dict,
        blank=True,
        help_text=_("Phrases per language (ISO 639-1) that signal this theme in free text."),
    )
    articles = models.ManyToManyField(
        UncacArticle, blank=True, related_name="thematic_areas", verbose_name=_("UNCAC articles")
    )

    class Meta(TaxonomyTerm.Meta):
        verbose_name = _("thematic area")
        verbose_name_plural = _("thematic areas")


class Modality(TaxonomyTerm):
    """How assistance is delivered (training course, study visit, ...)."""

    objects: ClassVar[models.Manager[Modality]]  # modeltranslation's MultilingualManager at run time

    class Meta(TaxonomyTerm.Meta):
        verbose_name = _("modality")
        verbose_name_plural = _("modalities")
