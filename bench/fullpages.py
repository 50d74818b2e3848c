"""Full-size news pages for timing benchmarks: a labelled page wrapped in realistic site chrome.

Why: the labelled pages of bench/extraction_quality.py are small (the fixtures ~1 KB, the sample-site
pages 10-14 KB), so fixed per-page costs (language detection, metadata) dominate their timings. Real
article pages weigh 50-150 KB of HTML: a cookie dialog, a mega menu, a ticker, teaser rails with
responsive images, a comments block, a footer sitemap, inline CSS, a JSON state blob and tracking
scripts. ``inflate`` adds exactly that kind of chrome around an existing page (seeded, deterministic),
without touching the article itself, so the same truth paragraphs still apply.

The chrome uses the markup conventions of real sites (BEM class names, ``<article>`` teasers with
``<time datetime>``, ``<nav>``/``<footer>``/``<section>``), not markup tuned to this project's rules.
"""

from __future__ import annotations

import json
import random
import re

from bench.synthetic import WORDS as GERMAN_WORDS

_ENGLISH_TEXT = (
    "the of and to in a for on with as by at from that is was were has have will would said says "
    "government minister council mayor police court judge ruling report study results economy "
    "inflation rates bank prices market shares company workers union strike talks agreement "
    "school teachers students university research climate energy power weather storm flood "
    "team coach match season league win defeat fans stadium hospital health doctors patients "
    "new first last next week month year years percent million billion today yesterday "
    "London Paris Berlin Washington Brussels Europe city region country state national local"
)
ENGLISH_WORDS = tuple(_ENGLISH_TEXT.split())

SECTIONS = {
    "de": ("Politik", "Wirtschaft", "Panorama", "Sport", "Kultur", "Wissen", "Digital", "Reise", "Auto", "Regional"),
    "en": ("Politics", "Business", "World", "Sport", "Culture", "Science", "Tech", "Travel", "Opinion", "Local"),
}
LABELS = {
    "de": {
        "cookie_title": "Wir respektieren Ihre Privatsphäre",
        "cookie_accept": "Alle akzeptieren",
        "cookie_settings": "Einstellungen",
        "rail": ("Mehr aus {section}", "Meistgelesen", "Empfehlungen der Redaktion", "Neueste Artikel"),
        "comments": "Kommentare",
        "ticker": "Eilmeldung",
        "footer": ("Impressum", "Datenschutz", "Kontakt", "Abo", "Newsletter", "Mediadaten", "Karriere", "AGB"),
    },
    "en": {
        "cookie_title": "We value your privacy",
        "cookie_accept": "Accept all",
        "cookie_settings": "Manage settings",
        "rail": ("More from {section}", "Most read", "Editor's picks", "Latest stories"),
        "comments": "Comments",
        "ticker": "Breaking",
        "footer": ("Imprint", "Privacy", "Contact", "Subscribe", "Newsletters", "Advertise", "Careers", "Terms"),
    },
}


def _words(rng: random.Random, words: tuple[str, ...], low: int, high: int) -> str:
    return " ".join(rng.choices(words, k=rng.randint(low, high)))


def _sentence(rng: random.Random, words: tuple[str, ...], low: int = 8, high: int = 18) -> str:
    return _words(rng, words, low, high).capitalize() + "."


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def _head(rng: random.Random, words: tuple[str, ...], lang: str) -> str:
    links = [f'<link rel="preconnect" href="https://cdn{i}.static.example" crossorigin>' for i in range(4)]
    links += [f'<link rel="preload" as="font" type="font/woff2" href="/assets/fonts/font-{i}.woff2" crossorigin>'
              for i in range(6)]
    links += [f'<link rel="alternate" hreflang="{code}" href="https://{code}.news.example/">'
              for code in ("de", "en", "fr", "it", "es", "x-default")]
    links += [f'<link rel="icon" sizes="{s}x{s}" href="/assets/icons/icon-{s}.png">' for s in (16, 32, 96, 192, 512)]
    metas = [f'<meta name="{n}" content="{_words(rng, words, 3, 8)}">'
             for n in ("keywords", "news_keywords", "twitter:site", "apple-itunes-app", "theme-color")]
    metas += [f'<meta property="article:tag" content="{_words(rng, words, 1, 3)}">' for _ in range(6)]
    css = "".join(
        f".c-{_slug(rng.choice(words))}__{rng.choice(('title', 'body', 'media', 'link', 'meta'))}"
        f"{{margin:{rng.randint(0, 32)}px {rng.randint(0, 32)}px;font-size:{rng.randint(12, 40) / 10}rem;"
        f"line-height:{rng.randint(10, 18) / 10};color:#{rng.getrandbits(24):06x};display:flex;"
        f"grid-template-columns:repeat({rng.randint(1, 4)},minmax(0,1fr))}}"
        for _ in range(100)
    )
    data_layer = json.dumps(
        {"page": {"type": "article", "section": rng.choice(SECTIONS[lang]), "paywall": False, "lang": lang,
                  "tags": [_words(rng, words, 1, 2) for _ in range(8)]},
         "ads": {"slots": [{"id": f"ad-{i}", "sizes": [[300, 250], [728, 90], [970, 250]]} for i in range(12)]},
         "experiments": {f"exp_{i}": rng.choice(("a", "b", "control")) for i in range(20)}},
        ensure_ascii=False,
    )
    teasers = [
        {"id": rng.getrandbits(40), "headline": _sentence(rng, words, 6, 12), "kicker": _words(rng, words, 1, 2),
         "url": f"/{_slug(rng.choice(SECTIONS[lang]))}/{_slug(_words(rng, words, 3, 6))}-{rng.getrandbits(24)}.html",
         "teaser": _sentence(rng, words, 14, 28),
         "image": {"src": f"https://img.static.example/{rng.getrandbits(48):012x}.jpg",
                   "srcset": {str(w): f"https://img.static.example/{rng.getrandbits(48):012x}-{w}.webp"
                              for w in (320, 640, 960, 1280)}},
         "published": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z"}
        for _ in range(30)
    ]
    state = json.dumps({"props": {"pageProps": {"teasers": teasers, "navigation": list(SECTIONS[lang])}}},
                       ensure_ascii=False)
    return (
        "\n".join(links + metas)
        + f"\n<style>{css}</style>\n"
        + f"<script>window.dataLayer=window.dataLayer||[];dataLayer.push({data_layer});</script>\n"
        + f'<script id="__NEXT_DATA__" type="application/json">{state}</script>\n'
    )


def _cookie_banner(rng: random.Random, words: tuple[str, ...], lang: str) -> str:
    labels = LABELS[lang]
    paras = "".join(f"<p>{_sentence(rng, words, 18, 30)} {_sentence(rng, words, 12, 24)}</p>" for _ in range(3))
    return (
        f'<div id="cmp-container" class="cmp-banner" role="dialog" aria-modal="true">'
        f'<div class="cmp-banner__inner"><h2 class="cmp-banner__title">{labels["cookie_title"]}</h2>{paras}'
        f'<div class="cmp-banner__actions"><button class="cmp-btn cmp-btn--primary">{labels["cookie_accept"]}</button>'
        f'<button class="cmp-btn">{labels["cookie_settings"]}</button></div></div></div>\n'
    )


def _mega_menu(rng: random.Random, words: tuple[str, ...], lang: str) -> str:
    parts = [('<div class="c-header"><a class="c-header__logo" href="/"><svg viewBox="0 0 120 24" '
             'aria-hidden="true"><path d="M0 0h120v24H0z"/></svg></a>'
             '<form class="c-search" role="search" action="/suche/"><input type="search" name="q">'
             '<button type="submit">Suche</button></form>'
             '<nav class="c-mega-menu" aria-label="Navigation"><ul class="c-mega-menu__list">')]
    for section in SECTIONS[lang]:
        items = "".join(
            f'<li class="c-mega-menu__item"><a class="c-mega-menu__link" href="/{_slug(section)}/'
            f'{_slug(t)}/">{t}</a></li>'
            for t in (_words(rng, words, 1, 3).title() for _ in range(12))
        )
        parts.append(f'<li class="c-mega-menu__section"><a href="/{_slug(section)}/">{section}</a>'
                     f'<ul class="c-mega-menu__sub">{items}</ul></li>')
    parts.append("</ul></nav></div>\n")
    ticker = "".join(
        f'<li class="c-ticker__item"><a href="/ticker/{rng.getrandbits(32)}.html">{_sentence(rng, words, 6, 10)}</a></li>'
        for _ in range(6)
    )
    parts.append(f'<div class="c-ticker" aria-live="polite"><span class="c-ticker__label">{LABELS[lang]["ticker"]}'
                 f'</span><ul class="c-ticker__list">{ticker}</ul></div>\n')
    return "".join(parts)


def _teaser(rng: random.Random, words: tuple[str, ...], lang: str) -> str:
    section = rng.choice(SECTIONS[lang])
    headline = _sentence(rng, words, 6, 12)
    href = f"/{_slug(section)}/{_slug(headline)}-{rng.getrandbits(24)}.html"
    image = f"https://img.static.example/{rng.getrandbits(48):012x}"
    srcset = ", ".join(f"{image}-{w}.webp {w}w" for w in (320, 640, 960, 1280))
    day, month, hour = rng.randint(1, 28), rng.randint(1, 12), rng.randint(0, 23)
    return (
        f'<article class="c-teaser c-teaser--{rng.choice(("small", "medium", "large"))}" data-teaser-id="{rng.getrandbits(40)}">'
        f'<a class="c-teaser__link" href="{href}" data-tracking="teaser-click">'
        f'<figure class="c-teaser__media"><picture><source type="image/webp" srcset="{srcset}" '
        f'sizes="(min-width: 1024px) 300px, 100vw"><img src="{image}.jpg" alt="{_words(rng, words, 4, 9)}" '
        f'loading="lazy" decoding="async" width="640" height="360"></picture></figure>'
        f'<div class="c-teaser__body"><span class="c-teaser__kicker">{_words(rng, words, 1, 2).title()}</span>'
        f'<h3 class="c-teaser__headline">{headline}</h3>'
        f'<p class="c-teaser__text">{_sentence(rng, words, 16, 30)}</p>'
        f'<time class="c-teaser__date" datetime="2025-{month:02d}-{day:02d}T{hour:02d}:00:00+01:00">'
        f"{day:02d}.{month:02d}.2025, {hour:02d}:00</time></div></a></article>"
    )


def _rails(rng: random.Random, words: tuple[str, ...], lang: str) -> str:
    out = []
    for title in LABELS[lang]["rail"]:
        title = title.format(section=rng.choice(SECTIONS[lang]))
        teasers = "".join(_teaser(rng, words, lang) for _ in range(8))
        out.append(f'<section class="c-rail c-rail--{_slug(title)}"><h2 class="c-rail__title">{title}</h2>'
                   f'<div class="o-grid o-grid--4">{teasers}</div></section>\n')
    comments = "".join(
        f'<li class="c-comments__item"><span class="c-comments__author">{_words(rng, words, 1, 2).title()}</span>'
        f'<p class="c-comments__text">{_sentence(rng, words, 10, 30)}</p></li>'
        for _ in range(4)
    )
    out.append(f'<section id="comments" class="c-comments"><h2>{LABELS[lang]["comments"]} '
               f'({rng.randint(10, 300)})</h2><ul class="c-comments__list">{comments}</ul></section>\n')
    return "".join(out)


def _footer(rng: random.Random, words: tuple[str, ...], lang: str) -> str:
    columns = "".join(
        f'<div class="c-footer__col"><h4>{section}</h4><ul>'
        + "".join(f'<li><a href="/{_slug(section)}/{_slug(t)}/">{t}</a></li>'
                  for t in (_words(rng, words, 1, 2).title() for _ in range(10)))
        + "</ul></div>"
        for section in SECTIONS[lang][:6]
    )
    legal = "".join(f'<li><a href="/{_slug(label)}/">{label}</a></li>' for label in LABELS[lang]["footer"])
    script = "".join(
        f"!function(e,t){{var n=t.createElement('script');n.src='https://tags.static.example/{rng.getrandbits(64):016x}.js';"
        f"n.async=!0;e.q{i}=e.q{i}||[];e.q{i}.push(['{_slug(_words(rng, words, 2, 3))}',{rng.getrandbits(30)}]);"
        f"t.head.appendChild(n)}}(window,document);"
        for i in range(30)
    )
    return (
        f'<footer class="c-footer"><div class="c-footer__grid">{columns}</div>'
        f'<ul class="c-footer__legal">{legal}</ul><p class="c-footer__copy">© 2025 {_words(rng, words, 2, 3).title()}</p>'
        f"</footer>\n<script>{script}</script>\n"
        f'<noscript><img src="https://pixel.static.example/p.gif?id={rng.getrandbits(40)}" width="1" height="1" alt=""></noscript>\n'
    )


def _insert_before(html: str, marker: re.Pattern[str], snippet: str, *, last: bool = False) -> str | None:
    matches = list(marker.finditer(html))
    if not matches:
        return None
    at = (matches[-1] if last else matches[0]).start()
    return html[:at] + snippet + html[at:]


_HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)
_BODY_START = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_MAIN_END = re.compile(r"</main\s*>", re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
_FOOTER_START = re.compile(r"<footer\b", re.IGNORECASE)


def inflate(html: str, *, lang: str = "de", seed: str | int = 0) -> str:
    """``html`` with site chrome added in the usual places (head, top of body, after the main
    content, footer); the article markup itself is left as it is."""
    rng = random.Random(f"fullpage:{seed}")
    lang = lang if lang in SECTIONS else "en"
    words = GERMAN_WORDS if lang == "de" else ENGLISH_WORDS
    out = _insert_before(html, _HEAD_END, _head(rng, words, lang)) or html
    body = _BODY_START.search(out)
    top = _cookie_banner(rng, words, lang) + _mega_menu(rng, words, lang)
    if body:
        out = out[: body.end()] + "\n" + top + out[body.end():]
    rails = _rails(rng, words, lang)
    out = (_insert_before(out, _MAIN_END, rails, last=True)
           or _insert_before(out, _FOOTER_START, rails, last=True)
           or _insert_before(out, _BODY_END, rails, last=True) or out + rails)
    footer = _footer(rng, words, lang)
    return _insert_before(out, _BODY_END, footer, last=True) or out + footer
