"""A bundled sample news site (five German articles, four outlet templates, RSS + Atom feeds)
served by a real local HTTP server, for the default config, ``make run`` and the tests."""

from pipeline.samplesite.articles import ARTICLE_SLUGS, SampleArticle, load_articles
from pipeline.samplesite.server import SampleSite

__all__ = ["ARTICLE_SLUGS", "SampleArticle", "SampleSite", "load_articles"]
