"""Which model fields are translated into the six UN languages (django-modeltranslation)."""

from modeltranslation.translator import TranslationOptions, register

from kb.models import Modality, TAType, ThematicArea, UncacArticle, UncacChapter


@register(UncacChapter)
class UncacChapterTranslation(TranslationOptions):
    fields = ("title",)


@register(UncacArticle)
class UncacArticleTranslation(TranslationOptions):
    fields = ("title",)


@register(TAType)
class TATypeTranslation(TranslationOptions):
    fields = ("label", "description")


@register(ThematicArea)
class ThematicAreaTranslation(TranslationOptions):
    fields = ("label", "description")


@register(Modality)
class ModalityTranslation(TranslationOptions):
    fields = ("label",)
