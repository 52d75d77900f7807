"""Hostile XML is refused before any parser expands or fetches anything."""

from __future__ import annotations

import tracemalloc

import pytest

from worker.errors import SourceError
from worker.sources.feed import parse_feed

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><item><title>&lol9;</title><guid>x</guid></item></channel></rss>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><item><title>&xxe;</title><guid>x</guid></item></channel></rss>
"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
<rss version="2.0"><channel><item><title>x</title></item></channel></rss>
"""

# feedparser's own clean-up only finds declarations at the start of a line.
ENTITY_MID_LINE = (
    b'<?xml version="1.0"?><!DOCTYPE rss [ <!ATTLIST a b CDATA "]><!--">'
    b' <!ENTITY xxe SYSTEM "file:///etc/passwd"> <!-- --> ]>'
    b"<rss><channel><item><title>&xxe;</title></item></channel></rss>"
)


@pytest.mark.parametrize(
    "body",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY, ENTITY_MID_LINE],
    ids=["billion-laughs", "external-entity", "parameter-entity", "declaration-mid-line"],
)
def test_a_doctype_that_declares_entities_is_refused(body: bytes) -> None:
    with pytest.raises(SourceError, match="declares entities"):
        parse_feed(body, "hostile")


def test_a_billion_laughs_document_is_refused_without_using_memory() -> None:
    tracemalloc.start()
    try:
        with pytest.raises(SourceError):
            parse_feed(BILLION_LAUGHS, "hostile")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 2_000_000


def test_the_external_entity_never_reaches_the_items() -> None:
    with pytest.raises(SourceError) as caught:
        parse_feed(EXTERNAL_ENTITY, "hostile")

    assert "root:" not in str(caught.value)


@pytest.mark.parametrize(
    ("encoding", "headers"),
    [
        ("utf-16", {}),
        ("utf-7", {}),
        ("utf-16-be", {"content-type": "application/xml; charset=utf-16-be"}),
    ],
)
def test_entity_declarations_hidden_behind_an_encoding_are_refused(
    encoding: str, headers: dict[str, str]
) -> None:
    declared = BILLION_LAUGHS.replace(
        b'version="1.0"', f'version="1.0" encoding="{encoding}"'.encode()
    )

    with pytest.raises(SourceError, match="declares entities"):
        parse_feed(declared.decode().encode(encoding), "hostile", headers)


def test_a_feed_with_the_netscape_rss_091_doctype_is_read() -> None:
    body = b"""<?xml version="1.0"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
  "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>Old</title><item><title>Still here</title>
<link>https://old.example.com/1</link></item></channel></rss>"""

    (item,) = parse_feed(body, "old").items

    assert item.title == "Still here"


def test_a_story_that_quotes_an_entity_declaration_is_read() -> None:
    body = b"""<rss version="2.0"><channel><item><guid>xxe-101</guid>
<title>How XXE works</title>
<description><![CDATA[Attackers write &lt;!ENTITY e SYSTEM "file:///"&gt; in a DOCTYPE.]]>
</description></item></channel></rss>"""

    (item,) = parse_feed(body, "blog").items

    assert item.summary == 'Attackers write <!ENTITY e SYSTEM "file:///"> in a DOCTYPE.'
