"""``drkit lab``: start, inspect and stop the local two-cluster lab."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from tabulate import tabulate

from drkit.errors import LabError, UsageError
from drkit.lab import bind, files
from drkit.lab.jars import KAFKA_VERSION, KafkaJars, ensure_jars, from_kafka_home
from drkit.lab.lab import BROKERS, MEMBERS, Lab, default_dir

DIR_OPTION = click.option(
    "--dir", "lab_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
    help="Lab directory (default: $DRKIT_LAB_DIR or ./drkit-lab).")


def _dir(lab_dir: Path | None) -> Path:
    return (lab_dir or default_dir()).absolute()


def _say(msg: str) -> None:
    click.echo(f"  … {msg}", err=True)


def _parse_flow(text: str) -> tuple[str, str]:
    src, sep, tgt = text.partition("->")
    if not sep or src not in BROKERS or tgt not in BROKERS or src == tgt:
        raise UsageError(f"--flow {text!r}: write SOURCE->TARGET with members "
                         f"{' and '.join(BROKERS)}, e.g. --flow primary->backup")
    return src, tgt


def _jars(kafka_home: Path | None) -> KafkaJars:
    if kafka_home:
        return from_kafka_home(kafka_home)
    return ensure_jars(KAFKA_VERSION)


@click.group()
def lab() -> None:
    """A real local lab: two KRaft clusters with MirrorMaker 2 (and BIND 9)."""


@lab.command()
@DIR_OPTION
@click.option("--kafka-home", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Use an unpacked Kafka distribution's libs/ instead of Maven Central jars.")
def fetch(lab_dir: Path | None, kafka_home: Path | None) -> None:
    """Download (or check) the Kafka and MM2 jars without starting anything."""
    del lab_dir
    started = time.monotonic()
    jars = _jars(kafka_home)
    count = len(list(jars.lib_dir.glob("*.jar")))
    click.echo(f"Kafka {jars.version} jars in {jars.lib_dir} "
               f"({count} jars, {time.monotonic() - started:.1f} s)")


@lab.command()
@DIR_OPTION
@click.option("--mm2/--no-mm2", default=True, help="Start MirrorMaker 2 (default: yes).")
@click.option("--flow", "flows", multiple=True, default=("primary->backup",),
              help="Replication flow SOURCE->TARGET; repeat for active-active.")
@click.option("--offset-lag-max", type=click.IntRange(min=0), default=100, show_default=True,
              help="MM2 offset.lag.max (100 = MM2's default: realistic translation).")
@click.option("--sync-group-offsets/--no-sync-group-offsets", default=False,
              help="MM2 sync.group.offsets.enabled (default: off, so drkit's commits show).")
@click.option("--policy", type=click.Choice(["default", "identity"]), default="default",
              help="MM2 replication policy.")
@click.option("--separator", default=".", show_default=True,
              help="replication.policy.separator (DefaultReplicationPolicy).")
@click.option("--dns/--no-dns", "with_dns", default=None,
              help="Start BIND 9 with a TSIG-updatable zone (default: when named is installed).")
@click.option("--kafka-home", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Use an unpacked Kafka distribution's libs/ instead of Maven Central jars.")
def up(lab_dir: Path | None, mm2: bool, flows: tuple[str, ...], offset_lag_max: int,
       sync_group_offsets: bool, policy: str, separator: str, with_dns: bool | None,
       kafka_home: Path | None) -> None:
    """Start primary and backup clusters and MM2; write mm2.properties and drkit.toml."""
    if not separator:
        raise UsageError("--separator must not be empty")
    path = _dir(lab_dir)
    started = time.monotonic()
    opts = files.MM2Options(flows=tuple(_parse_flow(f) for f in flows),
                            offset_lag_max=offset_lag_max, sync_group_offsets=sync_group_offsets,
                            policy=policy, separator=separator)
    _say("assembling Kafka jars (first run downloads them with Maven)")
    jars = _jars(kafka_home)
    dns_on = bind.available() if with_dns is None else with_dns
    the_lab = Lab.create(path, jars, opts, dns_on, progress=_say)
    the_lab.up(with_mm2=mm2)
    click.echo(f"Lab up in {time.monotonic() - started:.0f} s: {path}")
    _print_status(the_lab)
    click.echo(f"\nconfig: {the_lab.config_path}\nmm2:    {the_lab.mm2_config_path}")
    click.echo(f"next:   eval \"$(drkit lab env --dir {path})\"; drkit lab down --dir {path}")


@lab.command()
@DIR_OPTION
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
def status(lab_dir: Path | None, output: str) -> None:
    """Show each lab member: running or not, address, memory, log file."""
    the_lab = Lab.open(_dir(lab_dir))
    if output == "json":
        click.echo(json.dumps({"dir": str(the_lab.dir), "members": the_lab.status()}, indent=2))
        return
    click.echo(f"Lab {the_lab.dir} (Kafka {the_lab.state.kafka_version})")
    _print_status(the_lab)


def _print_status(the_lab: Lab) -> None:
    rows = []
    for r in the_lab.status():
        state = r["state"]
        if r.get("reachable") is False and state == "running":
            state = "running (not answering)"
        rows.append([r["member"], state, r["pid"] or "-", r["address"],
                     f"{r['rss_mib']} MiB" if r["rss_mib"] is not None else "-",
                     Path(r["log"]).name])
    click.echo(tabulate(rows, headers=["member", "state", "pid", "address", "memory", "log"]))


@lab.command()
@DIR_OPTION
@click.option("--purge", is_flag=True, help="Also delete the lab directory.")
def down(lab_dir: Path | None, purge: bool) -> None:
    """Stop every process the lab started (MM2 first), by pid."""
    path = _dir(lab_dir)
    the_lab = Lab.open(path)
    stopped = the_lab.down()
    for warning in the_lab.warnings:
        click.echo(f"drkit: warning: {warning}", err=True)
    click.echo(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")
    if purge:
        import shutil

        shutil.rmtree(path)
        click.echo(f"removed {path}")


@lab.command()
@DIR_OPTION
@click.argument("member", type=click.Choice(list(MEMBERS)))
@click.option("--kill", is_flag=True, help="SIGKILL instead of a clean shutdown (a crash).")
def stop(lab_dir: Path | None, member: str, kill: bool) -> None:
    """Stop one member: primary, backup, mm2 or bind."""
    the_lab = Lab.open(_dir(lab_dir))
    done = the_lab.stop(member, kill=kill)
    for warning in the_lab.warnings:
        click.echo(f"drkit: warning: {warning}", err=True)
    word = ("killed" if kill else "stopped") if done else "was not running"
    click.echo(f"{member}: {word}")


@lab.command()
@DIR_OPTION
@click.argument("member", type=click.Choice(list(MEMBERS)))
def start(lab_dir: Path | None, member: str) -> None:
    """Start one stopped member again and wait until it works."""
    the_lab = Lab.open(_dir(lab_dir), progress=_say)
    the_lab.start(member)
    click.echo(f"{member}: running")


@lab.command()
@DIR_OPTION
def env(lab_dir: Path | None) -> None:
    """Print shell exports: eval "$(drkit lab env)"."""
    the_lab = Lab.open(_dir(lab_dir))
    for k, v in the_lab.env().items():
        click.echo(f"export {k}={v}")


@lab.command()
@DIR_OPTION
@click.option("--keep", is_flag=True, help="Leave the lab running afterwards.")
def demo(lab_dir: Path | None, keep: bool) -> None:
    """Start a lab, replicate orders, and show the checkpoints MM2 wrote for three groups."""
    from drkit.lab import demo as demo_mod

    path = _dir(lab_dir)
    _clear_stale_demo(path)
    _say(f"starting a lab in {path}")
    jars = _jars(None)
    the_lab = Lab.create(path, jars, files.MM2Options(), bind.available(), progress=_say)
    the_lab.up()
    try:
        result = demo_mod.run(the_lab, _say)
        click.echo(f"\n1. MirrorMaker 2 checkpoints on backup, "
                   f"{result.seconds_to_checkpoints:.1f} s after the groups committed on primary:")
        rows = [[c.group, c.topic, c.partition, c.upstream_offset, c.downstream_offset]
                for c in result.checkpoints]
        click.echo(tabulate(rows, headers=["group", "topic on backup", "part",
                                           "primary offset", "backup offset"]))
        env = {"DRKIT_CONFIG": str(the_lab.config_path)}
        click.echo("\n2. $ drkit plan --from primary --to backup          (dry run)")
        _run_drkit(["plan", "--from", "primary", "--to", "backup"], env)
        if the_lab.state.dns:
            click.echo("\n   $ drkit dns show                               (clients' DNS name)")
            _run_drkit(["dns", "show"], env)
        click.echo("\n3. The primary region goes dark: $ drkit lab stop primary --kill")
        the_lab.stop("primary", kill=True)
        click.echo("\n4. $ drkit failover --from primary --to backup --yes")
        _run_drkit(["failover", "--from", "primary", "--to", "backup", "--yes"], env)
        if the_lab.state.dns:
            click.echo("\n   $ drkit dns show")
            _run_drkit(["dns", "show"], env)
        click.echo("\n5. Each group consumes primary.orders on backup from its new offsets:")
        checks = demo_mod.verify(the_lab)
        click.echo(tabulate(
            [[c.group, ", ".join(f"{p}:{o}" for p, o in sorted(c.resumes_at.items())),
              c.consumed_after, c.redelivered, c.lost] for c in checks],
            headers=["group", "resumes at (part:offset)", "consumed", "again", "lost"]))
        lost = sum(c.lost for c in checks)
        click.echo(f"\n{'No record lost.' if lost == 0 else f'{lost} RECORDS LOST'} "
                   "'again' = records processed on primary and re-delivered on backup: "
                   "MM2\ntranslates only to its last offset-sync (offset.lag.max=100), "
                   "and drkit predicted the bound above.")
        if lost:
            raise LabError(f"the demo lost {lost} records; see the lab logs in {path}")
    finally:
        if keep:
            click.echo(f"\nlab left running: eval \"$(drkit lab env --dir {path})\"; "
                       f"drkit lab down --dir {path}")
        else:
            stopped = the_lab.down()
            for warning in the_lab.warnings:
                click.echo(f"drkit: warning: {warning}", err=True)
            click.echo(f"\nlab stopped ({', '.join(stopped)}); files kept in {path}")


def _clear_stale_demo(path: Path) -> None:
    """A demo run again starts from scratch; a lab that is still running is never touched."""
    if not (path / "lab.json").exists():
        return
    old = Lab.open(path)
    if any(old.state.running(m) for m in MEMBERS):
        raise UsageError(f"a lab is running in {path}; `drkit lab down --dir {path}` first")
    import shutil

    shutil.rmtree(path)


def _run_drkit(args: list[str], env: dict[str, str]) -> None:
    """Run drkit as a user would, showing its output as it is."""
    import os
    import subprocess

    res = subprocess.run(["drkit", *args], env={**os.environ, **env}, capture_output=True,
                         text=True, check=False)
    click.echo("\n".join(f"   {line}" for line in res.stdout.rstrip().splitlines()))
    if res.returncode != 0:
        raise UsageError(f"drkit {args[0]} exited {res.returncode}: {res.stderr.strip()}")
