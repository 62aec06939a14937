"""The synthetic records: what N figures and everything they hang on look like.

Proportions (per 100 figures; the seeds have more records per figure, but organisations,
people and places recur across articles, so they grow slower than the numbers do):

    12 sources (articles), 15 events, 10 programmes, 10 organisations, 10 people, 2 places,
    about 1.2 citations per record, 1.1 subjects per figure, ~5 search entries per record.

Everything is a pure function of (record type, index, seed): the same N and seed give the
same rows on SQLite and on PostgreSQL, which is what lets Datasette (on the SQLite file)
and our API (on either database) be compared on the same data.

Names are Korean and English, made of a place, a topic and a kind: "광주 김장 판매금액" /
"Gwangju kimjang sales amount". Each of the 48 topics is in 1/48 of the names, so a
2-syllable Korean word (김장) and an English word (tourism) each match about 2% of records.

Units are dealt by figure index (i % 20), so that `unit=person` is exactly 10% of the
figures: at N = 10^6 that filter is the CSV export of 10^5 rows the benchmark asks for.
Every figure has either both period dates or none (and as_of only beside a period), so
the overlap filter `from`/`to` and Datasette's `period_end__gte`/`period_start__lte` select
the same rows.
"""

import datetime

from api.store import models as m

GENERATOR_VERSION = 5  # bump when the rows change, so cached databases are rebuilt

# Records per 100 figures.
PER_100 = {"sources": 12, "events": 15, "programmes": 10, "organisations": 10, "people": 10, "places": 2}
NEWSPAPERS = 8  # the first organisations are the newspapers that publish the sources

PLACES = [
    ("광주", "Gwangju"),
    ("나주", "Naju"),
    ("목포", "Mokpo"),
    ("여수", "Yeosu"),
    ("순천", "Suncheon"),
    ("담양", "Damyang"),
    ("화순", "Hwasun"),
    ("장성", "Jangseong"),
    ("영광", "Yeonggwang"),
    ("함평", "Hampyeong"),
    ("무안", "Muan"),
    ("해남", "Haenam"),
    ("강진", "Gangjin"),
    ("완도", "Wando"),
    ("진도", "Jindo"),
    ("보성", "Boseong"),
    ("고흥", "Goheung"),
    ("광양", "Gwangyang"),
    ("곡성", "Gokseong"),
    ("구례", "Gurye"),
    ("영암", "Yeongam"),
    ("장흥", "Jangheung"),
    ("신안", "Sinan"),
    ("동구", "Dong-gu"),
    ("서구", "Seo-gu"),
    ("남구", "Nam-gu"),
    ("북구", "Buk-gu"),
    ("광산구", "Gwangsan-gu"),
]
TOPICS = [
    ("김장", "kimjang"),
    ("인공지능", "artificial intelligence"),
    ("청년", "youth"),
    ("일자리", "jobs"),
    ("복지", "welfare"),
    ("관광", "tourism"),
    ("농업", "agriculture"),
    ("수산", "fisheries"),
    ("문화", "culture"),
    ("교육", "education"),
    ("의료", "healthcare"),
    ("환경", "environment"),
    ("에너지", "energy"),
    ("교통", "transport"),
    ("주거", "housing"),
    ("창업", "start-ups"),
    ("수출", "exports"),
    ("물류", "logistics"),
    ("안전", "safety"),
    ("체육", "sports"),
    ("예술", "arts"),
    ("도서관", "libraries"),
    ("보육", "childcare"),
    ("노인", "older people"),
    ("장애인", "disability"),
    ("다문화", "multicultural families"),
    ("귀농", "return to farming"),
    ("전통시장", "traditional markets"),
    ("소상공인", "small business"),
    ("사회적경제", "social economy"),
    ("탄소중립", "carbon neutrality"),
    ("수소", "hydrogen"),
    ("자동차", "automotive"),
    ("반도체", "semiconductors"),
    ("바이오", "biotech"),
    ("메타버스", "metaverse"),
    ("디지털", "digital"),
    ("스마트팜", "smart farms"),
    ("해양", "marine"),
    ("산림", "forestry"),
    ("하천", "rivers"),
    ("상수도", "water supply"),
    ("폐기물", "waste"),
    ("재난", "disasters"),
    ("방역", "disease control"),
    ("학교폭력", "school violence"),
    ("독서", "reading"),
    ("봉사", "volunteering"),
]
SURNAMES = [
    ("김", "Kim"),
    ("이", "Lee"),
    ("박", "Park"),
    ("최", "Choi"),
    ("정", "Jung"),
    ("강", "Kang"),
    ("조", "Cho"),
    ("윤", "Yoon"),
    ("장", "Jang"),
    ("임", "Lim"),
    ("한", "Han"),
    ("오", "Oh"),
]
GIVEN = [
    ("민", "min"),
    ("서", "seo"),
    ("준", "jun"),
    ("지", "ji"),
    ("현", "hyeon"),
    ("우", "u"),
    ("하", "ha"),
    ("윤", "yun"),
    ("도", "do"),
    ("예", "ye"),
    ("수", "su"),
    ("진", "jin"),
    ("영", "yeong"),
    ("호", "ho"),
]
TITLES = [
    ("단장", "head"),
    ("교수", "professor"),
    ("사장", "president"),
    ("과장", "section chief"),
    ("대표", "chief executive"),
    ("기자", "reporter"),
    ("시장", "mayor"),
    ("원장", "director"),
]
ACTIONS = [
    ("확대", "expands"),
    ("추진", "pushes"),
    ("개최", "holds"),
    ("선정", "is selected for"),
    ("협약", "signs an agreement on"),
    ("지원", "supports"),
]
# (ko, en) measures by unit; the unit of figure i is UNIT_CYCLE[i % 20].
MEASURES = {
    "KRW": [
        ("예산", "budget"),
        ("판매금액", "sales amount"),
        ("지원금", "subsidy"),
        ("매출액", "revenue"),
        ("투자액", "investment"),
        ("사업비", "project cost"),
    ],
    "person": [("참여 인원", "participants"), ("방문객 수", "visitors")],
    "company": [("참여 기업", "companies taking part"), ("지원 기업 수", "companies supported")],
    "t": [("판매량", "amount sold")],
    "kg": [("나눔 물량", "amount donated")],
    "percent": [("증가율", "growth rate"), ("달성률", "achievement rate")],
    "product": [("출품 제품 수", "products shown")],
    "organisation": [("참여 기관 수", "organisations taking part")],
    "rank": [("평가 순위", "rank in the evaluation")],
    "year": [("시행 연도", "year introduced")],
    "edition": [("개최 회차", "edition")],
    None: [("사업 규모", "scale of the project")],
}
UNIT_CYCLE = (
    ["KRW"] * 6
    + ["person"] * 2
    + ["company"] * 2
    + [
        "t",
        "kg",
        "percent",
        "percent",
        "product",
        "organisation",
        "rank",
        "year",
        "edition",
        None,
    ]
)
assert len(UNIT_CYCLE) == 20


def h(i, salt):
    """A cheap, deterministic hash of (index, salt): the generator's only randomness."""
    x = (i * 0x9E3779B97F4A7C15 + salt * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x ^= x >> 31
    x = (x * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 29)


def slug(text):
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-").replace("--", "-")


PLACE_SLUGS = [slug(en) for _, en in PLACES]
TOPIC_SLUGS = [slug(en) for _, en in TOPICS]
EPOCH = datetime.date(2015, 1, 1)


def day(i, salt):
    return EPOCH + datetime.timedelta(days=h(i, salt) % 3650)  # 2015-01-01 .. 2024-12-28


class Generator:
    """Rows of one synthetic dataset, as (model, fields, tuples) batches in dependency order."""

    def __init__(self, figures, seed, vocabulary):
        self.n = figures
        self.seed = seed
        self.counts = {t: max(1, figures * p // 100) for t, p in PER_100.items()}
        self.counts["organisations"] = max(self.counts["organisations"], NEWSPAPERS)
        self.counts["figures"] = figures
        self.vocabulary = vocabulary
        self.kinds = {scheme: [t["code"] for t in terms] for scheme, terms in vocabulary["terms"].items()}
        self.kind_labels = {(scheme, t["code"]): (t["ko"], t["en"]) for scheme, terms in vocabulary["terms"].items() for t in terms}
        self.salt = {t: (k + 1) * 1000 + seed * 100000 for k, t in enumerate(sorted(self.counts))}

    # -- what every record is made of ----------------------------------------------------

    def parts(self, record_type, i):
        s = self.salt[record_type]
        return h(i, s + 1) % len(PLACES), h(i, s + 2) % len(TOPICS), 2015 + h(i, s + 3) % 10

    def kind(self, record_type, scheme, i):
        codes = self.kinds[scheme]
        return codes[h(i, self.salt[record_type] + 4) % len(codes)]

    def id_of(self, record_type, i):
        p, t, y = self.parts(record_type, i)
        if record_type == "people":
            sur, g1, g2 = self.person_name(i)
            return f"{slug(sur[1])}-{g1[1]}{g2[1]}-{i}"
        if record_type == "figures":
            measure = self.measure(i)
            return f"{PLACE_SLUGS[p]}-{TOPIC_SLUGS[t]}-{slug(measure[1])}-{y}-{i}"
        return f"{PLACE_SLUGS[p]}-{TOPIC_SLUGS[t]}-{record_type[:-1]}-{y}-{i}"

    def person_name(self, i):
        s = self.salt["people"]
        return SURNAMES[h(i, s + 5) % len(SURNAMES)], GIVEN[h(i, s + 6) % len(GIVEN)], GIVEN[h(i, s + 7) % len(GIVEN)]

    def measure(self, i):
        options = MEASURES[UNIT_CYCLE[i % 20]]
        return options[h(i, self.salt["figures"] + 8) % len(options)]

    def pick(self, record_type, i, salt, among, below=None):
        """Index of a record of type `among` that record i refers to (earlier than `below` if given)."""
        limit = self.counts[among] if below is None else below
        return h(i, self.salt[record_type] + salt) % max(1, limit)

    def source_of(self, record_type, i, k=0):
        return self.id_of("sources", self.pick(record_type, i, 40 + k, "sources"))

    def base(self, record_type, i, name_ko, name_en, position, translated=True):
        """The fields of Record, the citations and the search entries of record i."""
        s = self.salt[record_type]
        singular = m.RECORD_TYPES[record_type]
        record_id = self.id_of(record_type, i)
        p, t, y = self.parts(record_type, i)
        other = [f"{PLACES[p][0]}{TOPICS[t][0]}"] if h(i, s + 9) % 5 == 0 else []
        note = None
        if h(i, s + 10) % 10 < 3:
            note = (
                f"{y}년 {PLACES[p][0]} {TOPICS[t][0]} 관련 기록. As reported for {PLACES[p][1]} in {y}; "
                f"the article gives no more detail on {TOPICS[t][1]}."
            )
        n_cites = 2 if h(i, s + 11) % 5 == 0 else 1
        evidence = [f"{name_ko}{'은' if k == 0 else '도'} {y}년 {PLACES[p][0]}에서 {TOPICS[t][0]} 분야로 발표됐다" for k in range(n_cites)]
        cites = [(singular, record_id, self.source_of(record_type, i, k), evidence[k], k) for k in range(n_cites)]
        texts = [("name.ko", name_ko), ("name.en", name_en)] + [("other_names", o) for o in other]
        if note:
            texts.append(("note", note))
        texts += [("sources.evidence", e) for e in evidence]
        record = (record_id, name_ko, name_en, translated, other, note, position)
        return record, cites, texts

    # -- the tables ----------------------------------------------------------------------

    def record_rows(self, record_type, i):
        """(record tuple, {link model: [tuples]}, citations, search texts) of record i."""
        p, t, y = self.parts(record_type, i)
        place_ko, place_en = PLACES[p]
        topic_ko, topic_en = TOPICS[t]
        s = self.salt[record_type]
        links = {}
        extra_texts = []
        if record_type == "organisations":
            kind = "newspaper" if i < NEWSPAPERS else self.kind(record_type, "organisation_kind", i)
            kind_ko, kind_en = self.kind_labels[("organisation_kind", kind)]
            ko, en = f"{place_ko} {topic_ko} {kind_ko}", f"{place_en} {topic_en} {kind_en}"
            parent = None
            if i > NEWSPAPERS and h(i, s + 13) % 5 == 0:
                parent = self.id_of("organisations", self.pick(record_type, i, 12, "organisations", below=i))
            extra = (kind, parent)
        elif record_type == "people":
            sur, g1, g2 = self.person_name(i)
            ko, en = f"{sur[0]}{g1[0]}{g2[0]}", f"{sur[1]} {g1[1].capitalize()}-{g2[1]}"
            title = TITLES[h(i, s + 14) % len(TITLES)]
            org = self.id_of("organisations", self.pick(record_type, i, 15, "organisations"))
            links[m.Affiliation] = [(self.id_of("people", i), org, title[0], title[1], 0)]
            extra = ()
        elif record_type == "places":
            kind = self.kind(record_type, "place_kind", i)
            kind_ko, kind_en = self.kind_labels[("place_kind", kind)]
            ko, en = f"{place_ko} {topic_ko} {kind_ko} {i}", f"{place_en} {topic_en} {kind_en} {i}"
            parent = self.id_of("places", self.pick(record_type, i, 12, "places", below=i)) if i > 0 and h(i, s + 13) % 4 == 0 else None
            extra = (kind, parent)
        elif record_type == "sources":
            action = ACTIONS[h(i, s + 16) % len(ACTIONS)]
            ko, en = f"{place_ko}, {y}년 {topic_ko} {action[0]}", f"{place_en} {action[1]} {topic_en} in {y}"
            subheadlines = [f"{topic_ko} 분야 {y}년 성과 발표"] if h(i, s + 17) % 2 == 0 else []
            extra_texts = [("subheadlines", sub) for sub in subheadlines]
            publication = self.id_of("organisations", h(i, s + 18) % NEWSPAPERS)
            author_index = self.pick(record_type, i, 19, "people")
            byline = "/{}{}{} 기자".format(*(part[0] for part in self.person_name(author_index)))
            extra = (publication, subheadlines, byline, self.id_of("people", author_index), day(i, s + 20), 1 + h(i, s + 21) % 8)
        elif record_type == "programmes":
            kind = self.kind(record_type, "programme_kind", i)
            kind_ko, kind_en = self.kind_labels[("programme_kind", kind)]
            ko, en = f"{place_ko} {topic_ko} {kind_ko}", f"{place_en} {topic_en} {kind_en}"
            parent = self.id_of("programmes", self.pick(record_type, i, 12, "programmes", below=i)) if i > 0 and h(i, s + 13) % 5 == 0 else None
            start = day(i, s + 22) if h(i, s + 23) % 10 < 6 else None
            end = start + datetime.timedelta(days=365) if start else None
            eligibility = {"ko": f"{place_ko} 소재 {topic_ko} 기업", "en": f"Companies in {place_en} working on {topic_en}", "en_translated": True}
            benefits = [{"ko": f"{topic_ko} 사업화 지원", "en": f"Support for {topic_en} commercialisation", "en_translated": True}]
            extra = (kind, parent, eligibility, benefits, start, end)
            pid = self.id_of("programmes", i)
            links[m.ProgrammeOperator] = [
                (pid, self.id_of("organisations", self.pick(record_type, i, 24 + k, "organisations")), "operator" if k == 0 else "partner", k)
                for k in range(1 + h(i, s + 25) % 2)
            ]
            if h(i, s + 26) % 5 == 0:
                links[m.ProgrammePlace] = [(pid, self.id_of("places", self.pick(record_type, i, 27, "places")), 0)]
        elif record_type == "events":
            kind = self.kind(record_type, "event_kind", i)
            kind_ko, kind_en = self.kind_labels[("event_kind", kind)]
            ko, en = f"{y}년 {place_ko} {topic_ko} {kind_ko}", f"{y} {place_en} {topic_en} {kind_en}"
            start = day(i, s + 22)
            end = start + datetime.timedelta(days=h(i, s + 28) % 20)
            extra = (kind, start, end, self.id_of("places", self.pick(record_type, i, 29, "places")))
            eid = self.id_of("events", i)
            participants = []
            for k in range(2 + h(i, s + 30) % 2):
                if h(i, s + 31 + k) % 5 == 0:
                    participants.append((eid, None, self.id_of("people", self.pick(record_type, i, 35 + k, "people")), "attendee", k))
                else:
                    role = ("organiser", "host", "co_organiser", "sponsor")[k % 4]
                    participants.append((eid, self.id_of("organisations", self.pick(record_type, i, 35 + k, "organisations")), None, role, k))
            links[m.EventParticipant] = participants
            if h(i, s + 32) % 5 < 2:
                links[m.EventProgramme] = [(eid, self.id_of("programmes", self.pick(record_type, i, 33, "programmes")), 0)]
        elif record_type == "figures":
            unit = UNIT_CYCLE[i % 20]
            measure_ko, measure_en = self.measure(i)
            ko, en = f"{place_ko} {topic_ko} {measure_ko}", f"{place_en} {topic_en} {measure_en} ({y})"
            value, value_text = figure_value(unit, h(i, s + 34))
            qualifier = ("exact",) * 17 + ("at_least", "approximate", "at_most")
            qualifier = qualifier[h(i, s + 35) % 20]
            if h(i, s + 36) % 20 < 17:  # 85% have a period; a third of those an as_of too
                start = day(i, s + 22)
                end = start + datetime.timedelta(days=h(i, s + 37) % 365)
                as_of = end if h(i, s + 38) % 3 == 0 else None
            else:
                start = end = as_of = None
            discrepancy = "기사 본문과 부제의 금액 표기가 다름" if h(i, s + 39) % 200 == 0 else None
            extra = (value, unit, value_text, qualifier, start, end, as_of, discrepancy)
            extra_texts = [("value_text", value_text)]
            fid = self.id_of("figures", i)
            subject_types = ("events",) * 8 + ("programmes",) * 6 + ("organisations",) * 5 + ("places",)
            subjects = []
            for k in range(2 if h(i, s + 40) % 10 == 0 else 1):
                about = subject_types[h(i, s + 41 + k) % 20]
                subjects.append((fid, m.RECORD_TYPES[about], self.id_of(about, self.pick(record_type, i, 43 + k, about)), k))
            links[m.FigureSubject] = subjects
            if i >= 2 and h(i, s + 45) % 20 == 0:  # a whole made of the two figures before it
                links[m.FigurePart] = [(fid, self.id_of("figures", i - 2), 0), (fid, self.id_of("figures", i - 1), 1)]
                links[m.FigureCheck] = [(fid, "parts_sum", True, "the parts add up to the whole")]
            elif i >= 2 and h(i, s + 45) % 100 == 1:
                links[m.FigureComparison] = [(fid, "growth_rate", self.id_of("figures", i - 2), self.id_of("figures", i - 1))]
        else:
            raise ValueError(record_type)
        record, cites, texts = self.base(record_type, i, ko, en, i)
        return record + extra, links, cites, texts + extra_texts


def figure_value(unit, r):
    """(value, value_text as Korean prints it) for a figure in `unit`, from the random r."""
    if unit == "KRW":
        eok, man = 1 + r % 500, (r >> 12) % 10 * 1000
        value = eok * 100_000_000 + man * 10_000
        return value, f"{eok}억 {man}만원" if man else f"{eok}억원"
    if unit in ("person", "company", "product", "organisation"):
        n = 10 + r % 20000
        suffix = {"person": "명", "company": "개사", "product": "개", "organisation": "개 기관"}[unit]
        text = f"{n // 10000}만{n % 10000 or ''}{suffix}" if n >= 10000 else f"{n}{suffix}"
        return n, text
    if unit == "t":
        return 1 + r % 900, f"{1 + r % 900}t"
    if unit == "kg":
        return 10 + r % 9000, f"{10 + r % 9000}kg"
    if unit == "percent":
        tenths = r % 1000
        return float(f"{tenths / 10:.1f}"), f"{tenths / 10:.1f}%"
    if unit == "rank":
        return 1 + r % 17, f"{1 + r % 17}위"
    if unit == "year":
        return 2000 + r % 25, f"{2000 + r % 25}년"
    if unit == "edition":
        return 1 + r % 30, f"제{1 + r % 30}회"
    return None, "대규모"
