"""The diverse workload: what real clients do, many different queries, not one URL repeated.

Four kinds of query, each a population of distinct URLs drawn from the synthetic dataset
(bench/synthetic.py knows every id without asking the database):

    record      one figure by a random id                     /v1/figures/<id>
    subject     the figures about a random event, programme   /v1/figures?subject=<id>
                or organisation
    unit_month  the figures in a random unit overlapping a    /v1/figures?unit=KRW&from=2019-03-01&to=2019-03-31
                random month of 2015-2024
    search      a random word: a place, a topic (Korean or    /v1/search?q=나주관광
                English) or a place and topic written as one
                word, as the names' other forms are

Datasette answers each with its equivalent (its row page, its table filtered `_through` the
link table, its column filters, `folded__contains` on the search text table). A sequence of
requests is drawn at random, with repetition, from a population; wrk walks it in order from
one thread, so every side gets the same requests in the same order. With the cache on,
a URL repeats only when the draw repeats it, as with real clients.
"""

import calendar
import json
import random
import urllib.parse

from bench.generate import read_vocabulary
from bench.synthetic import PLACES, TOPICS, UNIT_CYCLE, Generator

KINDS = ("record", "subject", "unit_month", "search")
DISTINCT = {"record": 2000, "subject": 1200, "unit_month": 1200, "search": 1200}  # at most; fewer if the data has fewer
SEQUENCE = 20000  # requests drawn per list (wrk starts again at the top if it gets through them)
PAGE = 50
SUBJECT_TYPES = ("events", "programmes", "organisations")


def population(n, seed=1):
    """{kind: [request, ...]} of distinct requests, each a dict of what it asks for."""
    rng = random.Random(f"civicfacts-diverse-{n}-{seed}")
    gen = Generator(n, seed, read_vocabulary())
    out = {}
    out["record"] = [{"id": gen.id_of("figures", i)} for i in rng.sample(range(n), min(DISTINCT["record"], n))]
    subjects = [(t, j) for t in SUBJECT_TYPES for j in range(gen.counts[t])]
    out["subject"] = [{"id": gen.id_of(t, j)} for t, j in rng.sample(subjects, min(DISTINCT["subject"], len(subjects)))]
    months = [(unit, year, month) for unit in sorted(set(UNIT_CYCLE) - {None}) for year in range(2015, 2025) for month in range(1, 13)]
    out["unit_month"] = [
        {"unit": u, "from": f"{y}-{mo:02d}-01", "to": f"{y}-{mo:02d}-{calendar.monthrange(y, mo)[1]:02d}"}
        for u, y, mo in rng.sample(months, min(DISTINCT["unit_month"], len(months)))
    ]
    words = sorted({w for pair in PLACES + TOPICS for w in pair if " " not in w and "-" not in w})
    words += [f"{p}{t}" for p, _ in PLACES for t, _ in TOPICS]  # other_names such as 나주관광
    out["search"] = [{"q": w} for w in rng.sample(words, min(DISTINCT["search"], len(words)))]
    return out


def ours(kind, request):
    q = urllib.parse.quote
    if kind == "record":
        return f"/v1/figures/{q(request['id'])}"
    if kind == "subject":
        return f"/v1/figures?subject={q(request['id'])}"
    if kind == "unit_month":
        return f"/v1/figures?unit={request['unit']}&from={request['from']}&to={request['to']}"
    return f"/v1/search?q={q(request['q'])}"


def datasette(db, kind, request):
    q = urllib.parse.quote
    if kind == "record":
        return f"/{db}/figure/{q(request['id'])}.json"
    if kind == "subject":
        through = json.dumps({"table": "figure_subject", "column": "subject_id", "value": request["id"]}, separators=(",", ":"))
        return f"/{db}/figure.json?_through={q(through)}&_size={PAGE}"
    if kind == "unit_month":
        return f"/{db}/figure.json?unit_id={request['unit']}&period_end__gte={request['from']}&period_start__lte={request['to']}&_size={PAGE}"
    return f"/{db}/search_entry.json?folded__contains={q(request['q'].casefold())}&_size={PAGE}"


def sequences(n, seed=1):
    """{name: [(kind, request), ...]}: one drawn sequence per kind, and `mix` over all kinds,
    and the number of distinct requests each is drawn from."""
    pop = population(n, seed)
    rng = random.Random(f"civicfacts-diverse-draw-{n}-{seed}")
    out, distinct = {}, {}
    for kind in KINDS:
        out[kind] = [(kind, rng.choice(pop[kind])) for _ in range(SEQUENCE)]
        distinct[kind] = len(pop[kind])
    everything = [(kind, request) for kind in KINDS for request in pop[kind]]
    out["mix"] = [rng.choice(everything) for _ in range(SEQUENCE)]
    distinct["mix"] = len(everything)
    return out, distinct


def paths_for(side, db, drawn):
    """The paths of one side for one drawn sequence."""
    if side == "datasette":
        return [datasette(db, kind, request) for kind, request in drawn]
    return [ours(kind, request) for kind, request in drawn]


# wrk: the paths are read from a file (thousands of them are too long for a command line),
# one per line, and walked in order.
FILE_LUA = r"""
local paths = {}
local counter = 0
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
end
function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter - 1) % #paths + 1])
end
"""
