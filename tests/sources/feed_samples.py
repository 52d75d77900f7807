"""Small recorded-shape feeds used across the source tests."""

from __future__ import annotations

RSS_20 = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
  <title>Trade Desk Wire</title>
  <link>https://news.example.com/</link>
  <description>Export controls, daily</description>
  <language>en-us</language>
  <item>
    <title>Commerce adds 140 entities to the Entity List</title>
    <link>https://News.Example.com/2024/12/entity-list?utm_source=rss&amp;id=7#top</link>
    <guid isPermaLink="false">tdw-2024-12-02-001</guid>
    <pubDate>Mon, 02 Dec 2024 15:04:05 -0500</pubDate>
    <description>&lt;p&gt;The &lt;b&gt;BIS&lt;/b&gt; rule covers HBM &amp;amp; tools.&lt;/p&gt;
    </description>
    <content:encoded><![CDATA[<p>Full text: <em>semiconductor</em> manufacturing
      equipment.</p>]]></content:encoded>
  </item>
  <item>
    <title>Netherlands widens ASML licence rules</title>
    <link>https://news.example.com/2024/09/asml?utm_medium=feed&amp;utm_campaign=x</link>
    <pubDate>Fri, 06 Sep 2024 09:00:00 GMT</pubDate>
    <description>DUV immersion tools now need a Dutch licence.</description>
  </item>
  <item>
    <title>Briefing without a link</title>
    <description>No guid, no link: identity comes from the text.</description>
  </item>
</channel>
</rss>
"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <title>Federal Register: Industry and Security Bureau</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2024-10-01T12:00:00Z</updated>
  <link href="https://www.example.gov/bis/"/>
  <entry>
    <title type="html">Foreign-Produced Direct Product Rule &amp;lt;update&amp;gt;</title>
    <link rel="alternate" href="/documents/2024-21001"/>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <published>2024-10-01T08:30:00-04:00</published>
    <updated>2024-10-02T08:30:00-04:00</updated>
    <summary>Interim final rule on advanced computing items.</summary>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">
      <p>Adds <b>AI chips</b> to ECCN 3A090.</p></div></content>
  </entry>
  <entry>
    <title>Only updated</title>
    <link rel="alternate" href="https://www.example.gov/documents/2024-21002"/>
    <id>urn:uuid:2225c695-cfb8-4ebb-aaaa-80da344efa6b</id>
    <updated>2024-10-03T10:00:00Z</updated>
  </entry>
</feed>
"""

JSONL = (
    b'{"id": "a1", "title": "Entity List additions", "summary": "BIS adds firms",'
    b' "published": "2024-12-02T20:04:05Z", "link": "https://news.example.com/a1"}\n'
    b"\n"
    b'{"id": "a2", "title": "Export licence rules", "published": "Fri, 06 Sep 2024 09:00:00 GMT"}\n'
)
