"""What compression costs and saves: per representation and encoding, the bytes sent and the
time the app takes to answer (response cache off, so every request represents and compresses
again), against sending it as it is.

    .venv/bin/python -m bench.compression [--database URL] [--rounds N]

Without --database it loads seeds/ into a temporary SQLite file first (a few seconds).
"""

import argparse
import pathlib
import statistics
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
PATHS = [
    "/v1/figures?limit=500",
    "/v1/figures?limit=20",
    "/v1/figures?format=csv",
    "/v1/programmes/sme-special-support-area-scheme?include=places,parts",
    "/v1/openapi.json",
    "/explore/figures",
    "/docs/swagger-ui-bundle.js",
]
ENCODINGS = ["identity", "gzip", "br", "zstd"]


def loaded_database():
    from api.cli import migration_runner
    from api.ingest.load import load
    from api.ingest.read import read_seeds
    from api.store.db import bind

    url = f"sqlite:///{tempfile.mkdtemp(prefix='civicfacts-compression-')}/bench.db"
    database = bind(url)
    with database:
        migration_runner(database).up()
    with database.connection_context():
        load(read_seeds(ROOT / "seeds"), database)
    database.close()
    return url


def measure(client, path, encoding, rounds):
    headers = {"Accept-Encoding": encoding}
    size = len(client.get(path, headers=headers).data)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        client.get(path, headers=headers).get_data()
        times.append(time.perf_counter() - start)
    return size, statistics.median(times) * 1000


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a loaded database (default: seeds/ loaded into a temporary SQLite file)")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    from api import create_app

    app = create_app({"DATABASE_URL": args.database or loaded_database(), "RESPONSE_CACHE_BYTES": 0})
    client = app.test_client()
    print(f"| path | {' | '.join(ENCODINGS)} |")
    print(f"|---|{'---|' * len(ENCODINGS)}")
    for path in PATHS:
        cells = []
        base_size, base_ms = measure(client, path, "identity", args.rounds)
        for encoding in ENCODINGS:
            size, ms = (base_size, base_ms) if encoding == "identity" else measure(client, path, encoding, args.rounds)
            extra = "" if encoding == "identity" else f" ({size / base_size:.0%}, {ms - base_ms:+.2f} ms)"
            cells.append(f"{size:,} B, {ms:.2f} ms{extra}")
        print(f"| `{path}` | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
