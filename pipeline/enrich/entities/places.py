"""Countries, capitals and the regions of large countries, built from maintained packages.

Why packages and not a hand list: the world has ~250 countries and thousands of regions, their
names change (Nur-Sultan is Astana again) and every one needs a label in each language the
pipeline indexes. Each source does what it is maintained for:

- ``pycountry`` (the Debian iso-codes data): ISO 3166-1 countries and ISO 3166-2 subdivisions,
  with their official names translated into de, fr, ru and many more languages;
- ``babel`` (Unicode CLDR): the names people write ("Russland", not "Russische Föderation") and
  the names of the cities time zones are named after ("Moskau", "Moscou", "Москва");
- ``coordinates2country``: Wikidata ids of the countries (its ``countries.csv``; we do not use
  its geocoder);
- ``countrystatecity-countries``: each country's capital and time zones.

Ids: a country's Wikidata id (``Q232``) where ``coordinates2country`` knows it, else
``iso3166:XX``; a region's ``iso3166:XX-YY`` (``iso3166:RU-MOW``); a capital that is one of its
country's ISO subdivisions (Moscow, Berlin, Astana) has that subdivision's id, any other capital
``news:<slug>``. The records are built once per process (about 0.3 s) and cached.
"""

from __future__ import annotations

import csv
import gettext
import importlib.resources
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from pipeline.enrich.entities.records import LABEL_LANGUAGES, Entry, GazetteerError, fold, project_id

log = logging.getLogger(__name__)

# Countries whose first-level regions are records (config/entities/places.yaml ``regions_of``
# overrides): the ten largest by area, Ukraine, and Germany (the pipeline's home market).
DEFAULT_REGIONS_OF = ("RU", "CA", "US", "CN", "BR", "AU", "IN", "AR", "KZ", "DZ", "UA", "DE")
# Chinese subdivision names carry their kind ("Xinjiang Uygur Zizhiqu", "Beijing Shi"); the bare
# name is what news writes.
_CN_KINDS = ("Uygur Zizhiqu", "Huizu Zizhiqu", "Zhuangzu Zizhiqu", "Zizhiqu", "Sheng", "Shi")


@dataclass(frozen=True)
class PlacesConfig:
    languages: tuple[str, ...] = LABEL_LANGUAGES
    regions_of: tuple[str, ...] = DEFAULT_REGIONS_OF
    countries: bool = True
    capitals: bool = True


def load_places_config(path: Path) -> PlacesConfig | None:
    """``places.yaml``; defaults when it is absent, None when it says ``enabled: false``."""
    if not path.exists():
        return PlacesConfig()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise GazetteerError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise GazetteerError(f"{path} must hold a mapping")
    unknown = set(raw) - {"enabled", "languages", "regions_of", "countries", "capitals"}
    if unknown:
        raise GazetteerError(f"{path}: unknown keys {sorted(unknown)}")
    if raw.get("enabled", True) is False:
        return None
    languages = tuple(str(x) for x in raw.get("languages") or LABEL_LANGUAGES)
    regions = tuple(str(x).upper() for x in (raw.get("regions_of") if "regions_of" in raw else DEFAULT_REGIONS_OF) or ())
    return PlacesConfig(languages, regions, bool(raw.get("countries", True)), bool(raw.get("capitals", True)))


def place_entries(config_path: Path) -> list[Entry]:
    """The place records ``config_path`` (a ``places.yaml``, maybe absent) asks for."""
    cfg = load_places_config(config_path)
    if cfg is None:
        return []
    return list(_build(cfg))


def _translators(languages: Iterable[str], domain: str) -> dict[str, gettext.NullTranslations]:
    import pycountry

    out: dict[str, gettext.NullTranslations] = {}
    for lang in languages:
        if lang == "en":
            continue
        try:
            out[lang] = gettext.translation(domain, pycountry.LOCALES_DIR, languages=[lang])
        except OSError:
            log.warning("pycountry has no %s translations for %r", domain, lang)
    return out


def _wikidata_ids() -> dict[str, str]:
    text = importlib.resources.files("coordinates2country").joinpath("resources/countries.csv").read_text("utf-8")
    ids: dict[str, str] = {}
    for row in csv.reader(text.splitlines()):
        if len(row) >= 3 and len(row[1]) == 2 and row[2].strip().isdigit():
            ids[row[1].upper()] = f"Q{int(row[2])}"
    return ids


def _tz_city(locales: dict[str, Any], lang: str, tz: str) -> str:
    city = locales[lang].time_zones.get(tz, {}).get("city")
    return city or tz.rsplit("/", 1)[-1].replace("_", " ")


def _plain(name: str) -> bool:
    """A name usable as an alias: not the ISO list form "Korea, Republic of"."""
    return bool(name) and "," not in name and "(" not in name


def _subdivision_base(name: str, country: str) -> str:
    """"Adygeya, Respublika" -> "Adygeya"; "Xinjiang Uygur Zizhiqu" -> "Xinjiang"."""
    base = name.split(",")[0].strip() if "," in name else name
    if country == "CN":
        for kind in _CN_KINDS:
            if base.endswith(" " + kind):
                return base[: -len(kind) - 1].strip()
    return base


def _entry(
    entity_id: str, labels: dict[str, str], names: dict[str, set[str]], *, kind: str
) -> Entry:
    """English labels and names match in any text, the others only in their language's."""
    universal = {labels.get("en", "")} | names.get("en", set())
    lang_aliases = {
        (lang, alias)
        for lang, group in names.items()
        if lang != "en"
        for alias in group | ({labels[lang]} if labels.get(lang) else set())
        if _plain(alias) and alias not in universal
    }
    return Entry(
        id=entity_id,
        type="LOC",
        labels=labels,
        aliases=tuple(sorted(a for a in universal if _plain(a))),
        lang_aliases=tuple(sorted(lang_aliases)),
        source=kind,
    )


@lru_cache(maxsize=8)
def _build(cfg: PlacesConfig) -> tuple[Entry, ...]:
    import pycountry
    from babel import Locale
    from countrystatecity_countries import get_countries

    langs = tuple(dict.fromkeys(("en", *cfg.languages)))
    locales = {lang: Locale.parse(lang) for lang in langs}
    tr1 = _translators(langs, "iso3166-1")
    tr2 = _translators(langs, "iso3166-2")
    qids = _wikidata_ids()
    csc = {c.iso2: c for c in get_countries()}

    def translated(tr: dict[str, gettext.NullTranslations], name: str) -> dict[str, str]:
        out = {"en": name}
        for lang, t in tr.items():
            out[lang] = t.gettext(name)
        return out

    regions: list[Entry] = []
    capitals: list[Entry] = []
    countries: list[Entry] = []
    # Subdivisions of every country, for matching capitals; records only for ``regions_of``.
    wanted = set(cfg.regions_of)
    for country in pycountry.countries:
        code = country.alpha_2
        subs = [s for s in (pycountry.subdivisions.get(country_code=code) or []) if s.parent_code is None]
        # folded name in any language -> (subdivision code, labels, names)
        sub_names: dict[str, str] = {}
        sub_data: dict[str, tuple[dict[str, str], dict[str, set[str]]]] = {}
        for sub in subs:
            names_by_lang = translated(tr2, sub.name)
            labels = {lang: _subdivision_base(n, code) for lang, n in names_by_lang.items()}
            names = {lang: {n, labels[lang]} for lang, n in names_by_lang.items()}
            sub_data[sub.code] = (labels, names)
            for group in names.values():
                for n in group:
                    sub_names.setdefault(fold(n), sub.code)
        # Time-zone cities (CLDR) named like a subdivision give it the names people write:
        # RU-MOW "Moskva" becomes "Moscow", "Moskau", "Moscou", "Москва".
        info = csc.get(code)
        tz_names = [tz["zoneName"] if isinstance(tz, dict) else tz.zoneName for tz in (getattr(info, "timezones", None) or [])]
        for tz in tz_names:
            city = {lang: _tz_city(locales, lang, tz) for lang in langs}
            hit = next((sub_names[fold(n)] for n in city.values() if fold(n) in sub_names), None)
            if hit is not None:
                labels, names = sub_data[hit]
                labels.update(city)
                for lang, n in city.items():
                    names.setdefault(lang, set()).add(n)
                    sub_names.setdefault(fold(n), hit)
        capital_id: str | None = None
        capital = (getattr(info, "capital", None) or "").strip() if cfg.capitals else ""
        if capital:
            capital_id = sub_names.get(fold(capital))
            if capital_id is None:
                city_labels = {"en": capital}
                for tz in tz_names:
                    if fold(_tz_city(locales, "en", tz)) == fold(capital):
                        city_labels = {lang: _tz_city(locales, lang, tz) for lang in langs}
                        break
                capitals.append(_entry(project_id(capital), city_labels,
                                       {k: {v} for k, v in city_labels.items()}, kind="capital"))
        for sub_code, (labels, names) in sub_data.items():
            if code in wanted or sub_code == capital_id:
                regions.append(_entry(f"iso3166:{sub_code}", labels, names, kind="pycountry"))
        if cfg.countries:
            labels = {lang: locales[lang].territories.get(code) or "" for lang in langs}
            labels = {k: v for k, v in labels.items() if v}
            iso_names = [n for n in (country.name, getattr(country, "common_name", None),
                                     getattr(country, "official_name", None)) if n]
            names: dict[str, set[str]] = {lang: set() for lang in langs}
            for n in iso_names:
                for lang, t in translated(tr1, n).items():
                    names[lang].add(t)
            for lang, label in labels.items():
                names[lang].add(label)
            labels.setdefault("en", country.name)
            countries.append(_entry(qids.get(code, f"iso3166:{code}"), labels, names, kind="pycountry"))
    # Later records take an alias from earlier ones: a country wins over a capital or region of its
    # name (Luxembourg, Djibouti), a capital over a region.
    return (*regions, *capitals, *countries)
