"""A generator of realistic synthetic knowledge bases for benchmarks.

Entries get a State (weighted: more needs from the global South, providers from everywhere), a
content language that fits the State's region, one to three thematic areas whose recognition
terms (in that language) appear in the text, the UNCAC articles those areas concern, TA types,
working languages, capacities of 1-15 and South-South preferences. Rows are written with
``bulk_create`` (the search triggers still fire), then published.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from kb.models import (
    AssistanceNeed,
    Country,
    EntryStatus,
    ExpertiseOffer,
    Language,
    Modality,
    Organisation,
    OrganisationKind,
    TAType,
    ThematicArea,
)

FILLER = {
    "en": [
        "The agency has a small team and limited experience in this field.",
        "We would welcome a peer exchange with practitioners who have run such a programme.",
        "The work would involve staff from several ministries and local government.",
        "A national action plan adopted last year calls for this reform.",
        "Officials would need practical tools, manuals and case studies.",
        "Support could be delivered remotely, followed by a short on-site mission.",
    ],
    "fr": [
        "L'agence dispose d'une petite équipe et d'une expérience limitée dans ce domaine.",
        "Nous souhaitons un échange avec des praticiens ayant mené un tel programme.",
        "Le travail associerait plusieurs ministères et les collectivités locales.",
        "Le plan d'action national adopté l'an dernier prévoit cette réforme.",
        "Les agents auraient besoin d'outils pratiques, de manuels et d'études de cas.",
    ],
    "es": [
        "La institución cuenta con un equipo reducido y poca experiencia en este ámbito.",
        "Buscamos un intercambio con profesionales que hayan implementado un programa similar.",
        "El trabajo involucraría a varios ministerios y a los gobiernos locales.",
        "El plan nacional de acción adoptado el año pasado prevé esta reforma.",
        "Los funcionarios necesitarían herramientas prácticas, manuales y casos de estudio.",
    ],
    "ar": [
        "تمتلك الهيئة فريقا صغيرا وخبرة محدودة في هذا المجال.",
        "نرحب بتبادل الخبرات مع ممارسين نفذوا برامج مماثلة.",
        "سيشمل العمل موظفين من عدة وزارات ومن الحكم المحلي.",
        "تنص خطة العمل الوطنية المعتمدة في العام الماضي على هذا الإصلاح.",
    ],
    "ru": [
        "У ведомства небольшая команда и ограниченный опыт в этой области.",
        "Мы заинтересованы в обмене опытом со специалистами, реализовавшими подобные программы.",
        "В работе примут участие сотрудники нескольких министерств и органов местного самоуправления.",
        "Национальный план действий, принятый в прошлом году, предусматривает эту реформу.",
    ],
    "zh": [
        "本机构团队规模较小，在该领域经验有限。",
        "我们希望与实施过类似项目的同行开展交流。",
        "工作将涉及多个部委和地方政府的工作人员。",
        "去年通过的国家行动计划提出了这项改革。",
    ],
    "pt": [
        "A instituição tem uma equipe pequena e pouca experiência nesta área.",
        "Gostaríamos de um intercâmbio com profissionais que implementaram programas semelhantes.",
    ],
}
TITLE = {
    "offer": {"en": "Expertise in {}", "fr": "Expertise en {}", "es": "Experiencia en {}", "ar": "خبرة في {}", "ru": "Опыт в области: {}", "zh": "{}方面的经验", "pt": "Experiência em {}"},
    "need": {"en": "Support needed on {}", "fr": "Appui demandé : {}", "es": "Apoyo requerido en {}", "ar": "دعم مطلوب في {}", "ru": "Требуется помощь: {}", "zh": "需要{}方面的支持", "pt": "Apoio necessário em {}"},
}  # fmt: skip
REGION_LANGUAGES = {
    "Africa": [("fr", 4), ("en", 4), ("ar", 2), ("pt", 1)],
    "Americas": [("es", 6), ("en", 3), ("pt", 1)],
    "Asia": [("en", 5), ("ar", 2), ("ru", 2), ("zh", 2)],
    "Europe": [("en", 5), ("ru", 3), ("fr", 2)],
    "Oceania": [("en", 1)],
}


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights, k=1)[0]


@dataclass
class Taxonomy:
    themes: list[ThematicArea]
    theme_articles: dict[int, list[int]]
    ta_types: list[TAType]
    modalities: list[Modality]
    languages: dict[str, Language]


def _taxonomy() -> Taxonomy:
    themes = list(ThematicArea.objects.prefetch_related("articles"))
    return Taxonomy(
        themes=themes,
        theme_articles={t.pk: [a.number for a in t.articles.all()] for t in themes},
        ta_types=[t for t in TAType.objects.all() if t.code != "other"],
        modalities=list(Modality.objects.all()),
        languages={lang.code: lang for lang in Language.objects.filter(code__in=list(FILLER))},
    )


def _text(rng: random.Random, kind: str, language: str, themes: list[ThematicArea]) -> tuple[str, str]:
    lang_terms = [rng.choice(t.terms.get(language) or t.terms.get("en") or [t.code]) for t in themes]
    title = TITLE[kind][language].format(lang_terms[0])[:200]
    sentences = [lang_terms[0].capitalize() + "."]
    sentences += [term.capitalize() + "." for term in lang_terms[1:]]
    sentences += rng.sample(FILLER[language], k=min(3, len(FILLER[language])))
    rng.shuffle(sentences)
    return title, " ".join(sentences)


def generate(*, offers: int, needs: int, seed: int = 7, batch: int = 2000) -> None:
    """Add ``offers`` and ``needs`` published synthetic entries to the database."""
    rng = random.Random(seed)
    taxonomy = _taxonomy()
    countries = list(Country.objects.select_related("region"))
    south = [c for c in countries if c.g77]
    organisations: dict[int, Organisation] = {}

    def organisation_for(country: Country) -> Organisation:
        if country.pk not in organisations:
            organisations[country.pk], _ = Organisation.objects.get_or_create(
                name=f"Synthetic anti-corruption agency of {country.name}",
                country=country,
                defaults={"kind": OrganisationKind.ANTI_CORRUPTION_AGENCY},
            )
        return organisations[country.pk]

    now = timezone.now()
    for kind, total in (("offer", offers), ("need", needs)):
        model = ExpertiseOffer if kind == "offer" else AssistanceNeed
        made = 0
        while made < total:
            size = min(batch, total - made)
            rows, tags = [], []
            for i in range(size):
                country = rng.choice(south) if (kind == "need" and rng.random() < 0.85) else rng.choice(countries)
                language = _weighted(rng, REGION_LANGUAGES[country.region.name])
                themes = rng.sample(taxonomy.themes, k=rng.choice((1, 1, 2, 2, 3)))
                title, description = _text(rng, kind, language, themes)
                fields = {
                    "external_id": f"SYN-{kind}-{seed}-{made + i}",
                    "title": title,
                    "description": description,
                    "language": taxonomy.languages[language],
                    "status": EntryStatus.PUBLISHED,
                    "published_at": now,
                    "submitted_at": now,
                }
                if kind == "offer":
                    fields.update(organisation=organisation_for(country), capacity=rng.randint(1, 15))
                else:
                    fields.update(
                        country=country,
                        organisation=organisation_for(country),
                        priority=rng.choice(("high", "medium", "medium", "low")),
                        south_south=rng.choice(("none", "none", "prefer", "prefer", "require")),
                    )
                rows.append(model(**fields))
                articles = sorted({a for t in themes for a in taxonomy.theme_articles[t.pk]})
                tags.append(
                    (
                        themes if rng.random() < 0.7 else [],  # some entries carry no theme tags
                        rng.sample(articles, k=min(len(articles), rng.randint(0, 3))),
                        rng.sample(taxonomy.ta_types, k=rng.randint(1, 2)),
                        sorted({language, "en"} if rng.random() < 0.5 else {language}),
                        rng.sample(taxonomy.modalities, k=rng.randint(1, 2)) if kind == "offer" else [],
                    )
                )
            with transaction.atomic():
                created = model.objects.bulk_create(rows)
                _bulk_tags(model, created, tags, taxonomy)
            made += size


def _bulk_tags(model, entries, tags, taxonomy: Taxonomy) -> None:
    through = {
        name: getattr(model, name).through for name in ("articles", "ta_types", "thematic_areas", "working_languages")
    }
    column = model._meta.model_name + "_id"
    rows: dict[str, list] = {name: [] for name in through}
    modalities = []
    for entry, (themes, articles, ta_types, languages, mods) in zip(entries, tags, strict=True):
        rows["thematic_areas"] += [
            through["thematic_areas"](**{column: entry.pk, "thematicarea_id": t.pk}) for t in themes
        ]
        rows["articles"] += [through["articles"](**{column: entry.pk, "uncacarticle_id": a}) for a in articles]
        rows["ta_types"] += [through["ta_types"](**{column: entry.pk, "tatype_id": t.pk}) for t in ta_types]
        rows["working_languages"] += [
            through["working_languages"](**{column: entry.pk, "language_id": c}) for c in languages
        ]
        if model is ExpertiseOffer:
            modalities += [
                ExpertiseOffer.modalities.through(expertiseoffer_id=entry.pk, modality_id=m.pk) for m in mods
            ]
    for name, objects in rows.items():
        through[name].objects.bulk_create(objects, batch_size=5000)
    if modalities:
        ExpertiseOffer.modalities.through.objects.bulk_create(modalities, batch_size=5000)


def wipe() -> None:
    """Remove every entry (benchmark databases only)."""
    from django.db import connection

    from kb.models import EntryEvent, SearchOutbox
    from matching.models import (
        CorpusStats,
        Engagement,
        EngagementEvent,
        EngagementRating,
        MatchBatch,
        MatchCandidate,
        MatchRun,
        NeedOutcome,
        Notification,
    )  # fmt: skip

    tables = [
        m._meta.db_table
        for m in (
            Notification,
            EngagementRating,
            EngagementEvent,
            Engagement,
            MatchCandidate,
            NeedOutcome,
            MatchBatch,
            MatchRun,
            CorpusStats,
        )
    ]
    tables.append(EntryEvent._meta.db_table)
    for model in (ExpertiseOffer, AssistanceNeed):
        tables += [f.remote_field.through._meta.db_table for f in model._meta.many_to_many]
        tables.append(model._meta.db_table)
    tables.append(SearchOutbox._meta.db_table)
    from kb.models import EntryVector

    tables.append(EntryVector._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DELETE FROM {table}")
