"""Stories written for the clustering tests: syndicated rewrites of one event, and look-alikes
that are different events (a later reversal, a new charge, another company, another government).

Events and dates are real (2024-2025); the wording and the outlets are ours. `EVENT` says which
event each story reports: stories with the same event must cluster together, others must not.
"""

from __future__ import annotations

from datetime import UTC, datetime

from worker.models import Item


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def story(event: str, id: str, when: str, source: str, title: str, body: str) -> tuple[str, Item]:
    item = Item(
        id=id,
        title=title,
        summary=body,
        link=f"https://{source.lower().replace(' ', '')}.example.com/{id}",
        published=_at(when),
        source=source,
    )
    return event, item


STORIES = [
    # The H20 licence requirement, 15-16 April 2025: five outlets, few shared phrases.
    story(
        "h20-licence",
        "wire-h20",
        "2025-04-15T21:40:00+00:00",
        "Wire Tech Daily",
        "Nvidia takes $5.5 billion hit as Washington tightens grip on China chip sales",
        "Nvidia said late on Tuesday it will record about $5.5 billion of charges in its first "
        "fiscal quarter for H20 inventory, purchase commitments and related reserves. The US "
        "government told the company that shipping the H20 to China now needs a licence.",
    ),
    story(
        "h20-licence",
        "desk-h20",
        "2025-04-16T00:10:00+00:00",
        "Policy Desk",
        "Commerce requires licences for H20 exports to China; Nvidia books charge",
        "Nvidia disclosed that the US government informed it on April 9 that exports of its H20 "
        "accelerator to China need a licence, and on April 14 that the requirement will apply "
        "indefinitely. The company expects charges of about $5.5 billion in the quarter.",
    ),
    story(
        "h20-licence",
        "asia-h20",
        "2025-04-15T19:15:00+00:00",
        "Asia Markets Brief",
        "What the H20 licence requirement means for Nvidia's China business",
        "Nvidia's $5.5 billion charge reflects chips built for Chinese buyers that may now sit "
        "unsold. Analysts say the licence demand, which Washington says is indefinite, could "
        "cost the company most of its China data-centre revenue; AMD's MI308 is caught by the "
        "same rule.",
    ),
    story(
        "h20-licence",
        "gtw-h20",
        "2025-04-15T22:30:00+00:00",
        "Global Tech Wire",
        "US government tells Nvidia its H20 chip now needs an export licence for China",
        "Washington has informed Nvidia that sales of the H20, the most capable accelerator it "
        "was still allowed to sell in China, require a licence for the foreseeable future. The "
        "chip designer will take a first-quarter charge of roughly $5.5bn.",
    ),
    story(
        "h20-licence",
        "pulse-h20",
        "2025-04-16T01:05:00+00:00",
        "Market Pulse",
        "Nvidia shares slide after new US curbs on H20 sales to China",
        "Shares of the chip designer dropped 6% in extended trading after it flagged charges of "
        "about US$5.5 billion tied to H20 inventory, once US officials said exports to China "
        "would need a licence indefinitely.",
    ),
    # AMD's MI308 charge the next day: same rule, another company, another amount.
    story(
        "amd-mi308",
        "wire-amd",
        "2025-04-16T21:05:00+00:00",
        "Wire Tech Daily",
        "AMD warns of up to $800 million charge as MI308 falls under China licence rule",
        "Advanced Micro Devices said in a filing that the new US licence requirement covers its "
        "MI308 accelerators for China and could lead to charges of up to roughly $800 million "
        "for inventory, purchase commitments and related reserves.",
    ),
    story(
        "amd-mi308",
        "ledger-amd",
        "2025-04-16T22:20:00+00:00",
        "Chip Ledger",
        "AMD sees $800m hit from US export licence rule on MI308 chips",
        "AMD expects charges of as much as $800m after Washington said its MI308 accelerators "
        "need a licence to be shipped to China. The company will apply for licences.",
    ),
    # The reversal three months later: same company, same product, opposite action.
    story(
        "h20-resumed",
        "wire-h20-resume",
        "2025-07-15T03:00:00+00:00",
        "Wire Tech Daily",
        "Nvidia to resume H20 sales to China after US signals licences will be granted",
        "Nvidia said it is filing applications to sell its H20 chip in China again and that the "
        "US government has assured it the licences will be granted.",
    ),
    story(
        "h20-resumed",
        "gtw-h20-resume",
        "2025-07-15T05:30:00+00:00",
        "Global Tech Wire",
        "Washington to let Nvidia ship H20 chips to China again",
        "The Trump administration will allow Nvidia to restart H20 deliveries to Chinese "
        "customers, the company said, three months after a licence requirement halted them.",
    ),
    # A new charge with a new figure, six weeks after the first.
    story(
        "h20-q1-charge",
        "wire-h20-q1",
        "2025-05-28T20:30:00+00:00",
        "Wire Tech Daily",
        "Nvidia says H20 curbs cost it a $4.5 billion charge and $2.5 billion in lost sales",
        "Nvidia reported first-quarter results that included a $4.5 billion charge for H20 "
        "inventory after the US licence requirement, and said it could not ship a further "
        "$2.5 billion of H20 orders.",
    ),
    # The Entity List additions of 25 March 2025, reported in words that barely overlap.
    story(
        "entity-list-80",
        "gtw-el",
        "2025-03-25T15:00:00+00:00",
        "Global Tech Wire",
        "US adds dozens of Chinese firms, including Inspur units, to export blacklist",
        "The Trump administration put dozens of companies on its trade blacklist on Tuesday, "
        "most of them in China, among them units of server maker Inspur Group, citing help to "
        "China's military supercomputing efforts.",
    ),
    story(
        "entity-list-80",
        "desk-el",
        "2025-03-25T17:30:00+00:00",
        "Policy Desk",
        "Commerce puts 80 entities on Entity List; server maker Inspur's subsidiaries among them",
        "The Bureau of Industry and Security added 80 entities from China, Taiwan, Iran and "
        "other countries to the Entity List. Six Inspur subsidiaries were named for supporting "
        "Chinese military modernisation through high-performance computing.",
    ),
    # A different Entity List action in the same week: other targets, other count.
    story(
        "entity-list-drones",
        "pulse-el-drones",
        "2025-03-26T14:00:00+00:00",
        "Market Pulse",
        "US adds 12 Russian and Iranian drone parts suppliers to Entity List",
        "The Commerce Department added 12 entities that it said supplied components for "
        "Russian and Iranian military drones, including distributors in Turkey and the UAE.",
    ),
    # China's gallium/germanium ban, and a rewrite.
    story(
        "cn-gallium-ban",
        "desk-ga",
        "2024-12-03T08:40:00+00:00",
        "Policy Desk",
        "China bans exports of gallium, germanium and antimony to the United States",
        "China's commerce ministry said shipments of the three minerals to the US are banned "
        "in principle and that graphite exports will face stricter end-use checks, a day after "
        "Washington's latest chip curbs.",
    ),
    story(
        "cn-gallium-ban",
        "ctb-ga",
        "2024-12-03T10:15:00+00:00",
        "China Trade Brief",
        "Beijing halts shipments of critical minerals gallium and germanium to US",
        "Beijing on Tuesday prohibited exports of gallium, germanium and antimony to American "
        "buyers in its sharpest response yet to US semiconductor controls.",
    ),
    # The SAMR probe and a rewrite.
    story(
        "samr-probe",
        "desk-samr",
        "2024-12-09T09:15:00+00:00",
        "Policy Desk",
        "Chinese market regulator opens investigation into Nvidia",
        "The State Administration for Market Regulation said it is investigating whether Nvidia "
        "broke anti-monopoly law and the conditions set when China approved its purchase of "
        "Mellanox in 2020.",
    ),
    story(
        "samr-probe",
        "ctb-samr",
        "2024-12-09T11:00:00+00:00",
        "China Trade Brief",
        "China launches antitrust probe of Nvidia over Mellanox deal",
        "Chinese regulators opened an anti-monopoly investigation into the US chipmaker, saying "
        "it may have breached commitments made when its acquisition of Mellanox was cleared.",
    ),
    # Two stories about Nvidia and the H20 a day apart, acted on by different governments.
    story(
        "us-revenue-share",
        "asia-share",
        "2025-08-11T21:40:00+00:00",
        "Asia Markets Brief",
        "Nvidia and AMD to give Washington 15% of China AI chip sales",
        "The two chipmakers agreed to pay the US government a share of revenue from H20 and "
        "MI308 sales in China in exchange for export licences, President Trump confirmed.",
    ),
    story(
        "cn-h20-guidance",
        "wire-guidance",
        "2025-08-12T07:00:00+00:00",
        "Wire Tech Daily",
        "Beijing urges companies to avoid Nvidia's H20 for government work",
        "Chinese authorities have sent notices discouraging use of the H20, particularly for "
        "government-related purposes, just as Nvidia prepares to resume sales under new US "
        "licences.",
    ),
]

EVENT = {item.id: event for event, item in STORIES}
ITEMS = {item.id: item for _, item in STORIES}

# The scores routing tests give each story's tickers (routing is tested apart from scoring,
# so a change in the scorer does not move these tests): item id → {ticker: score}.
SCORES: dict[str, dict[str, int]] = {
    "wire-h20": {"NVDA": 100},
    "desk-h20": {"NVDA": 96},
    "asia-h20": {"NVDA": 97, "AMD": 71},
    "gtw-h20": {"NVDA": 100},
    "pulse-h20": {"NVDA": 100},
    "wire-amd": {"AMD": 87},
    "ledger-amd": {"AMD": 100},
    "wire-h20-resume": {"NVDA": 90},
    "gtw-h20-resume": {"NVDA": 93},
    "wire-h20-q1": {"NVDA": 91},
    "gtw-el": {"000977.SZ": 94},
    "desk-el": {"000977.SZ": 88},
    "desk-samr": {"NVDA": 80},
    "ctb-samr": {"NVDA": 75},
    "asia-share": {"NVDA": 86, "AMD": 82},
    "wire-guidance": {"NVDA": 84},
}
