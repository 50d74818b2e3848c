"""Render article pages, feeds and the index of the sample site (jinja2, autoescaped)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pipeline.samplesite.articles import SampleArticle, load_articles
from pipeline.samplesite.feeds import ATOM_PATH, RSS_PATH, FeedEntry
from pipeline.samplesite.outlets import Outlet, load_outlets

TEMPLATES_DIR = Path(__file__).with_name("templates")


@dataclass(frozen=True)
class Block:
    """One element of the article body as rendered: ``p``, ``h2``, ``read-also``, ``promo``, ``ad``."""

    kind: str
    text: str
    href: str | None = None


def _rfc822(value: datetime, gmt: bool = False) -> str:
    if gmt:
        return format_datetime(value.astimezone(UTC), usegmt=True)
    return format_datetime(value)


def _de_datetime(value: str | None) -> str:
    return datetime.fromisoformat(value).strftime("%d.%m.%Y %H:%M") if value else ""


@cache
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "xml"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "indent": 2}
    env.filters["rfc822"] = _rfc822
    env.filters["de_datetime"] = _de_datetime
    return env


def body_blocks(article: SampleArticle, outlet: Outlet) -> list[Block]:
    """Body paragraphs/fragments, sub-headings and in-article boilerplate, in page order."""
    blocks: list[Block] = []
    for index, parts in enumerate(article.paragraph_parts):
        kind = "h2" if article.paragraphs[index] in article.subheadings else "p"
        blocks += [Block(kind, part) for part in parts]
        blocks += [Block(ins.kind, ins.text, ins.path) for ins in article.inserts if ins.after == index]
        if outlet.ad_label and outlet.ad_after == index:
            blocks.append(Block("ad", outlet.ad_label))
    return blocks


def _json_ld(article: SampleArticle, outlet: Outlet, base_url: str) -> dict[str, Any] | None:
    if article.jsonld_published is None:
        return None
    canonical = base_url + article.path
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": canonical},
        "url": canonical,
        "headline": article.title,
        "description": article.description,
        "inLanguage": article.lang,
        "articleSection": article.section,
        "image": [f"{base_url}{outlet.prefix}img/{article.slug}.jpg"],
        "datePublished": article.jsonld_published,
    }
    if article.jsonld_modified:
        data["dateModified"] = article.jsonld_modified
    if article.authors:
        data["author"] = [{"@type": "Person", "name": name} for name in article.authors]
    else:
        data["author"] = {"@type": "Organization", "name": outlet.name}
    data["publisher"] = {
        "@type": "Organization",
        "name": outlet.name,
        "url": base_url + outlet.prefix,
        "logo": {"@type": "ImageObject", "url": f"{base_url}{outlet.prefix}img/logo.png"},
    }
    return data


def render_article(article: SampleArticle, base_url: str) -> str:
    """The full HTML page of ``article`` with absolute canonical/og URLs under ``base_url``."""
    outlet = load_outlets()[article.outlet]
    return (
        _env()
        .get_template(outlet.template)
        .render(
            a=article,
            outlet=outlet,
            base_url=base_url,
            canonical=base_url + article.path,
            image_url=f"{base_url}{outlet.prefix}img/{article.slug}.jpg",
            blocks=body_blocks(article, outlet),
            json_ld=_json_ld(article, outlet, base_url),
        )
    )


def render_rss(entries: list[FeedEntry], base_url: str, title: str, self_path: str) -> str:
    build = max(e.updated for e in entries)
    return (
        _env()
        .get_template("feeds/rss.xml")
        .render(entries=entries, base_url=base_url, title=title, self_url=base_url + self_path, build=build)
    )


def render_atom(entries: list[FeedEntry], base_url: str, title: str, self_path: str) -> str:
    updated = max(e.updated for e in entries)
    return (
        _env()
        .get_template("feeds/atom.xml")
        .render(
            entries=entries, base_url=base_url, title=title, self_url=base_url + self_path, updated=updated
        )
    )


def render_index(base_url: str) -> str:
    return (
        _env()
        .get_template("index.html")
        .render(
            base_url=base_url,
            articles=load_articles(),
            outlets=load_outlets(),
            rss_url=base_url + RSS_PATH,
            atom_url=base_url + ATOM_PATH,
        )
    )
