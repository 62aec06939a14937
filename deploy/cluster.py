"""Start, stop and inspect a civicfacts cluster on this machine, under one folder.

    deploy/cluster start  [FOLDER] [--only NAMES]   start what is not running (all by default)
    deploy/cluster stop   [FOLDER] [--only NAMES]   stop it, each part by its own pid
    deploy/cluster kill   [FOLDER] --only NAMES     SIGKILL app servers (their whole process group)
    deploy/cluster status [FOLDER]                  what runs, with its pid and port

FOLDER defaults to $CIVICFACTS_CLUSTER_DIR. NAMES are among primary, replica, app1, app2, app3,
nginx (comma separated). The parts (docs/DEPLOY.md has the picture):

    primary   PostgreSQL, takes the loads              127.0.0.1:PG_PORT
    replica   hot standby of it (pg_basebackup -R)     127.0.0.1:PG_PORT+1
    app1/2    `civicfacts serve` on the replica        127.0.0.1:HTTP_PORT+1, +2
    app3      `civicfacts serve` on the primary        127.0.0.1:HTTP_PORT+3 (nginx's backup)
    nginx     the load balancer clients talk to        127.0.0.1:HTTP_PORT

Ports: $CIVICFACTS_CLUSTER_HTTP_PORT (8480) and $CIVICFACTS_CLUSTER_PG_PORT (54380). The first
start makes everything: both data directories, the roles (deploy/roles.sql) with random
passwords, the schema and the seeds loaded on the primary (as the loader role), and writes
FOLDER/cluster.json: the ports, and the URLs of the reader and the loader, which is how a
load is run: `civicfacts load --database "$(jq -r .loader_url FOLDER/cluster.json)"`.

Nothing is installed as a service and nothing outside FOLDER is written, but for Debian's
nginx (and PostgreSQL, if absent), which are installed with apt-get when missing. Run as
root, PostgreSQL (which refuses root) runs as the `postgres` user ($CIVICFACTS_PG_USER) and
nginx's workers as `nobody`; FOLDER must be reachable by them (a folder under /tmp is).

Only the standard library: the operator's Python is enough. The app servers run the
`civicfacts` next to this checkout (.venv/bin), or $CIVICFACTS_BIN, or the one on PATH.
"""

import argparse
import glob
import json
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
NAMES = ("primary", "replica", "app1", "app2", "app3", "nginx")
APPS = {"app1": "replica", "app2": "replica", "app3": "primary"}
DATABASE = "civicfacts"
# Every app server's workers; 2 per server on a 2-core machine is already more than the cores.
WORKERS = int(os.environ.get("CIVICFACTS_CLUSTER_WORKERS", "2"))
# The bound the replica's app servers hold to: past it they answer 503 (api/web/replication.py).
# Tighter than the app's default (30 s): under traffic each server sees its lag to the second.
MAX_REPLICA_LAG = os.environ.get("CIVICFACTS_MAX_REPLICA_LAG", "10")
STOP_SECONDS = 20


class ClusterError(Exception):
    pass


# --- where things are -------------------------------------------------------------------


class Cluster:
    def __init__(self, folder):
        self.dir = pathlib.Path(folder).resolve()
        http = int(os.environ.get("CIVICFACTS_CLUSTER_HTTP_PORT", "8480"))
        pg = int(os.environ.get("CIVICFACTS_CLUSTER_PG_PORT", "54380"))
        self.ports = {"nginx": http, "app1": http + 1, "app2": http + 2, "app3": http + 3, "primary": pg, "replica": pg + 1}
        self.pg_dir = self.dir / "pg"
        self.run_dir = self.dir / "run"
        self.log_dir = self.dir / "log"
        self.socket_dir = self.pg_dir / "socket"
        self.as_root = os.geteuid() == 0
        self.pg_user = os.environ.get("CIVICFACTS_PG_USER", "postgres") if self.as_root else None

    def data(self, node):
        return self.pg_dir / node

    def pidfile(self, name):
        if name in ("primary", "replica"):
            return self.data(name) / "postmaster.pid"
        return self.run_dir / f"{name}.pid"

    def secrets(self):
        path = self.dir / "secrets.json"
        if not path.exists():
            values = {key: secrets.token_hex(16) for key in ("reader_password", "loader_password", "replica_password", "cursor_secret")}
            path.touch(mode=0o600)
            path.write_text(json.dumps(values, indent=2))
        return json.loads(path.read_text())

    def url(self, node, role):
        password = self.secrets()[f"{role}_password"]
        return f"postgresql://civicfacts_{role}:{password}@127.0.0.1:{self.ports[node]}/{DATABASE}"

    def describe(self):
        return {
            "dir": str(self.dir),
            "ports": self.ports,
            "base_url": f"http://127.0.0.1:{self.ports['nginx']}",
            "apps": {name: {"url": f"http://127.0.0.1:{self.ports[name]}", "database": node} for name, node in APPS.items()},
            "loader_url": self.url("primary", "loader"),
            "reader_urls": {node: self.url(node, "reader") for node in ("primary", "replica")},
            "max_replica_lag": float(MAX_REPLICA_LAG),
            "pg_bin": str(pg_bin()),
            "pg_user": self.pg_user,
        }


# --- processes ----------------------------------------------------------------------------


def read_pid(path):
    try:
        return int(path.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def alive(pid):
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (a child of ours that has exited) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def running(cluster, name):
    pid = read_pid(cluster.pidfile(name))
    return pid if alive(pid) else None


def port_open(port, timeout=0.5):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for(what, check, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise ClusterError(f"{what}: not ready after {seconds} s")


def run(command, **kwargs):
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise ClusterError(f"{' '.join(map(str, command))} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


def apt_install(package):
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ClusterError(f"{package} is missing: install Debian's `{package}` package")
    print(f"installing Debian's {package} (apt-get)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-qq"], env=env)
    run(["apt-get", "install", "-y", "-qq", package], env=env)


def pg_bin():
    """The newest PostgreSQL server binaries Debian installed ($CIVICFACTS_PG_BIN to choose)."""
    chosen = os.environ.get("CIVICFACTS_PG_BIN")
    if chosen:
        return pathlib.Path(chosen)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if not found:
        apt_install("postgresql")
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return pathlib.Path(found[-1]).parent


def civicfacts_bin():
    chosen = os.environ.get("CIVICFACTS_BIN")
    if chosen:
        return chosen
    local = ROOT / ".venv" / "bin" / "civicfacts"
    if local.exists():
        return str(local)
    found = shutil.which("civicfacts")
    if found is None:
        raise ClusterError("civicfacts is not installed: `make install`, or set CIVICFACTS_BIN")
    return found


# --- PostgreSQL -----------------------------------------------------------------------------


def as_pg(cluster, command):
    """`command` as the user PostgreSQL runs as: itself, or the postgres user under root."""
    command = [str(c) for c in command]
    return ["runuser", "-u", cluster.pg_user, "--", *command] if cluster.as_root else command


def pg_run(cluster, command, **kwargs):
    return run(as_pg(cluster, command), **kwargs)


def prepare_pg_dir(cluster):
    cluster.socket_dir.mkdir(parents=True, exist_ok=True)
    if cluster.as_root:
        shutil.chown(cluster.pg_dir, cluster.pg_user, cluster.pg_user)
        shutil.chown(cluster.socket_dir, cluster.pg_user, cluster.pg_user)
        probe = subprocess.run(as_pg(cluster, ["test", "-w", cluster.pg_dir]), capture_output=True)
        if probe.returncode != 0:
            raise ClusterError(f"the {cluster.pg_user} user cannot reach {cluster.pg_dir}: choose a folder it can traverse (e.g. under /tmp)")
    os.chmod(cluster.pg_dir, 0o700)
    os.chmod(cluster.socket_dir, 0o700)


def write_node_conf(cluster, node):
    data = cluster.data(node)
    shutil.copy(HERE / "postgresql.conf", data / "civicfacts.conf")
    shutil.copy(HERE / "pg_hba.conf", data / "pg_hba.conf")
    (data / "node.conf").write_text(
        f"# This node's own settings (deploy/cluster writes them).\nport = {cluster.ports[node]}\n"
        f"unix_socket_directories = '{cluster.socket_dir}'\ncluster_name = 'civicfacts-{node}'\n"
    )
    conf = data / "postgresql.conf"
    text = conf.read_text()
    if "include 'civicfacts.conf'" not in text:
        conf.write_text(text + "\n# civicfacts (deploy/cluster)\ninclude 'civicfacts.conf'\ninclude 'node.conf'\n")
    if cluster.as_root:
        for path in ("civicfacts.conf", "pg_hba.conf", "node.conf", "postgresql.conf"):
            shutil.chown(data / path, cluster.pg_user, cluster.pg_user)


def psql(cluster, node, *args, database="postgres"):
    return pg_run(
        cluster,
        [pg_bin() / "psql", "-h", cluster.socket_dir, "-p", cluster.ports[node], "-d", database, "-v", "ON_ERROR_STOP=1", "-X", "-q", *args],
    )


def pg_start(cluster, node):
    if running(cluster, node):
        return
    log = cluster.pg_dir / f"{node}.log"
    pg_run(cluster, [pg_bin() / "pg_ctl", "-D", cluster.data(node), "-l", log, "-w", "-t", "60", "start"])


def pg_stop(cluster, node, mode="fast"):
    if not running(cluster, node):
        return
    pg_run(cluster, [pg_bin() / "pg_ctl", "-D", cluster.data(node), "-m", mode, "-w", "-t", "60", "stop"])


def make_primary(cluster):
    data = cluster.data("primary")
    pg_run(
        cluster,
        [pg_bin() / "initdb", "-D", data, "-E", "UTF8", "--locale=C.UTF-8", "--auth-local=peer", "--auth-host=scram-sha-256"],
    )
    write_node_conf(cluster, "primary")
    pg_start(cluster, "primary")
    keys = cluster.secrets()
    variables = [f"--variable={name}={keys[name]}" for name in ("reader_password", "loader_password", "replica_password")]
    psql(cluster, "primary", *variables, "-f", HERE / "roles.sql")
    civicfacts = civicfacts_bin()
    loader = cluster.url("primary", "loader")
    run([civicfacts, "migrate", "--database", loader], cwd=ROOT)
    print(run([civicfacts, "load", "--database", loader, ROOT / "seeds"], cwd=ROOT).strip(), flush=True)


def make_replica(cluster):
    """A copy of the primary by pg_basebackup, streaming from it: -R writes standby.signal and
    primary_conninfo, -C -S a replication slot, so the primary keeps the WAL the replica has
    not had while it is down."""
    env = {**os.environ, "PGPASSWORD": cluster.secrets()["replica_password"]}
    pg_run(
        cluster,
        [
            *[pg_bin() / "pg_basebackup", "-h", "127.0.0.1", "-p", cluster.ports["primary"], "-U", "civicfacts_replica"],
            *["-D", cluster.data("replica"), "-R", "-X", "stream", "-C", "-S", "civicfacts_replica_1", "--checkpoint=fast"],
        ],
        env=env,
    )
    write_node_conf(cluster, "replica")


def start_pg(cluster, node):
    prepare_pg_dir(cluster)
    if (cluster.data(node) / "PG_VERSION").exists():
        write_node_conf(cluster, node)  # the settings in deploy/ may have changed
        pg_start(cluster, node)
        return
    if node == "primary":
        make_primary(cluster)
    else:
        if not running(cluster, "primary"):
            raise ClusterError("the replica is made from the primary: start it first")
        make_replica(cluster)
        pg_start(cluster, "replica")


# --- app servers ------------------------------------------------------------------------------


def start_app(cluster, name):
    if running(cluster, name):
        return
    port = cluster.ports[name]
    if port_open(port):
        raise ClusterError(f"{name}: port {port} is taken by another process")
    keys = cluster.secrets()
    env = {
        **os.environ,
        "DATABASE_URL": cluster.url(APPS[name], "reader"),
        "CIVICFACTS_CURSOR_SECRET": keys["cursor_secret"],  # the same on every server
        "CIVICFACTS_TRUSTED_PROXIES": "1",  # nginx sets X-Forwarded-For
        "CIVICFACTS_MAX_REPLICA_LAG": MAX_REPLICA_LAG,
        "CIVICFACTS_EXPORTS_DIR": str(cluster.dir / "exports" / name),
    }
    log = open(cluster.log_dir / f"{name}.log", "ab")
    # A session of its own: its pid is its process group's, so `kill` reaches the workers too.
    proc = subprocess.Popen(
        [civicfacts_bin(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    cluster.pidfile(name).write_text(f"{proc.pid}\n")
    wait_for(f"{name} on port {port}", lambda: port_open(port) or proc.poll() is not None, 60)
    if proc.poll() is not None:
        raise ClusterError(f"{name} exited ({proc.returncode}): see {cluster.log_dir / f'{name}.log'}")


def stop_app(cluster, name):
    pid = running(cluster, name)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)  # granian stops its workers and exits
    deadline = time.monotonic() + STOP_SECONDS
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.1)
    kill_group(pid)
    cluster.pidfile(name).unlink(missing_ok=True)


def kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def kill_app(cluster, name):
    """What a crash looks like: SIGKILL to the server and its workers at once."""
    pid = read_pid(cluster.pidfile(name))
    if pid is not None:
        kill_group(pid)
        cluster.pidfile(name).unlink(missing_ok=True)


# --- nginx ----------------------------------------------------------------------------------

PHRASES = {
    400: "Bad Request",
    408: "Request Timeout",
    413: "Content Too Large",
    414: "URI Too Long",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
DETAILS = {
    400: "The request is malformed, or its headers are too large.",
    408: "The request was not sent in time.",
    413: "The request has a body larger than the API accepts (it reads none).",
    414: "The request line is longer than this server accepts.",
    429: "This client has too many requests open at once; wait Retry-After seconds.",
    500: "The load balancer failed.",
    502: "No app server answered; try again after Retry-After seconds.",
    503: "No app server can answer now; try again after Retry-After seconds.",
    504: "No app server answered in time; try again after Retry-After seconds.",
}
RETRY = {429, 502, 503, 504}


def problem(status):
    """The app's problem+json shape (api/web/errors.problem_body), for what nginx answers itself."""
    phrase = PHRASES[status]
    return {
        "type": f"https://civicfacts.example/problems/{phrase.lower().replace(' ', '-')}",
        "title": phrase,
        "status": status,
        "detail": DETAILS[status],
        "instance": "",
    }


def write_nginx(cluster):
    folder = cluster.dir / "nginx"
    for sub in ("tmp", "_problem/retry"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for status in PHRASES:
        where = folder / "_problem" / ("retry" if status in RETRY else "") / f"{status}.json"
        where.write_text(json.dumps(problem(status)))
    text = (HERE / "nginx.conf").read_text()
    user = "user nobody nogroup;  # nginx runs as root here: its workers do not" if cluster.as_root else ""
    for key, value in {"USER": user, "DIR": str(cluster.dir), "NGINX_PORT": cluster.ports["nginx"]}.items():
        text = text.replace(f"@{key}@", str(value))
    for name in APPS:
        text = text.replace(f"@{name.upper()}_PORT@", str(cluster.ports[name]))
    conf = folder / "nginx.conf"
    conf.write_text(text)
    # The workers (nobody, under root) read the error pages and write the temp files.
    for path in (cluster.dir, folder, folder / "_problem", folder / "_problem" / "retry"):
        path.chmod(0o755)
    return conf


def nginx_command(cluster, conf, *args):
    return ["nginx", "-p", str(cluster.dir / "nginx"), "-c", str(conf), "-e", str(cluster.log_dir / "nginx-error.log"), *args]


def start_nginx(cluster):
    if running(cluster, "nginx"):
        return
    if shutil.which("nginx") is None:
        apt_install("nginx")
    conf = write_nginx(cluster)
    run(nginx_command(cluster, conf, "-t", "-q"))
    run(nginx_command(cluster, conf))  # it detaches, writing run/nginx.pid
    wait_for("nginx", lambda: port_open(cluster.ports["nginx"]), 10)


def stop_nginx(cluster):
    pid = running(cluster, "nginx")
    if pid is None:
        return
    os.kill(pid, signal.SIGQUIT)  # finish what is in flight, then exit
    deadline = time.monotonic() + STOP_SECONDS
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.1)
    if alive(pid):
        os.kill(pid, signal.SIGTERM)


# --- the commands -----------------------------------------------------------------------------


def start(cluster, names):
    for sub in (cluster.dir, cluster.run_dir, cluster.log_dir, cluster.dir / "exports"):
        sub.mkdir(parents=True, exist_ok=True)
    if cluster.as_root:
        # PostgreSQL's user and nginx's workers must reach their folders inside (a folder made
        # by `mktemp -d` is the owner's alone); what is secret inside is not readable to them.
        cluster.dir.chmod(0o755)
    cluster.secrets()
    described = cluster.dir / "cluster.json"  # it holds the roles' passwords
    described.touch(mode=0o600)
    described.write_text(json.dumps(cluster.describe(), indent=2))
    for name in NAMES:
        if name not in names:
            continue
        if name in ("primary", "replica"):
            start_pg(cluster, name)
        elif name in APPS:
            start_app(cluster, name)
        else:
            start_nginx(cluster)
    return status(cluster)


def stop(cluster, names):
    for name in reversed(NAMES):
        if name not in names:
            continue
        if name in ("primary", "replica"):
            pg_stop(cluster, name)
        elif name in APPS:
            stop_app(cluster, name)
        else:
            stop_nginx(cluster)
    return status(cluster)


def health(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=3) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def status(cluster):
    for name in NAMES:
        pid = running(cluster, name)
        port = cluster.ports[name]
        state = f"running, pid {pid}" if pid else "stopped"
        extra = f", /v1/health {health(port)}" if pid and name not in ("primary", "replica") else ""
        print(f"{name:8} {state}, port {port}{extra}", flush=True)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="deploy/cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("start", "stop", "kill", "status"))
    parser.add_argument("folder", nargs="?", default=os.environ.get("CIVICFACTS_CLUSTER_DIR"))
    parser.add_argument("--only", default=",".join(NAMES), help="comma-separated parts (default: all)")
    args = parser.parse_args(argv)
    if not args.folder:
        parser.error("name a folder, or set CIVICFACTS_CLUSTER_DIR")
    names = [n for n in args.only.split(",") if n]
    unknown = set(names) - set(NAMES)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))} (known: {', '.join(NAMES)})")
    cluster = Cluster(args.folder)
    try:
        if args.command == "start":
            return start(cluster, names)
        if args.command == "stop":
            return stop(cluster, names)
        if args.command == "kill":
            for name in names:
                if name not in APPS:
                    parser.error(f"kill is for app servers; stop {name} instead")
                kill_app(cluster, name)
            return 0
        return status(cluster)
    except ClusterError as exc:
        print(f"deploy/cluster: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
