"""The ``oretrail`` command: serve, keys, demo, project, deliver, rebuild, openapi, migrate, status, verify, erase, miners,
sequence, keygen, sign."""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from tqdm import tqdm

from services.errors import OretrailError
from services.logs import configure_logging
from services.settings import Settings


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``oretrail`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        configure_logging(settings.log_level, settings.log_format)
        return args.handler(settings, args) or 0
    except OretrailError as exc:
        print(f"oretrail: {exc.message}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"oretrail: {exc}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser: every subcommand with its arguments and handler."""
    parser = argparse.ArgumentParser(prog="oretrail", description="Provenance and impact data for responsible gold.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the API with the projectors in process")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--threads", type=int, default=8)
    serve.set_defaults(handler=_serve)

    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(dest="keys_command", required=True)
    create = keys.add_parser("create", help="create a key and print it (shown only once)")
    create.add_argument("--org", required=True)
    create.add_argument("--role", required=True)
    create.set_defaults(handler=_keys_create)
    revoke = keys.add_parser("revoke", help="revoke a key by its id (the part after ot_)")
    revoke.add_argument("key_id")
    revoke.set_defaults(handler=_keys_revoke)

    demo = commands.add_parser("demo", help="append the demo supply chain through the capture API (once)")
    demo.add_argument("--force", action="store_true", help="append even if the log is not empty")
    demo.set_defaults(handler=_demo)

    project = commands.add_parser("project", help="run projectors until stopped")
    project.add_argument("name", nargs="?")
    project.add_argument("--all", action="store_true")
    project.set_defaults(handler=_project)

    deliver = commands.add_parser("deliver", help="send webhook deliveries until stopped (the distributed sender)")
    deliver.set_defaults(handler=_deliver)

    rebuild = commands.add_parser("rebuild", help="drop a read model and replay the whole log into it")
    rebuild.add_argument("name")
    rebuild.set_defaults(handler=_rebuild)

    openapi = commands.add_parser("openapi", help="print the OpenAPI document (YAML)")
    openapi.add_argument("--output", type=Path)
    openapi.set_defaults(handler=_openapi)

    migrate = commands.add_parser("migrate", help="create the tables of the read models and API keys (idempotent)")
    migrate.set_defaults(handler=_migrate)

    status = commands.add_parser("status", help="print the readiness report")
    status.set_defaults(handler=_status)

    verify = commands.add_parser("verify", help="check the log against its Merkle tree and signed checkpoint, "
                                                "or an evidence bundle offline")
    verify.add_argument("--log", action="store_true",
                        help="recompute every event hash and the tree; name the first position that differs")
    verify.add_argument("bundle", nargs="?", metavar="BUNDLE",
                        help="an evidence bundle (GET /v1/products/{id}/evidence) to check offline, '-' for stdin")
    verify.add_argument("--key", metavar="VERIFIER",
                        help="the log's verifier key as you obtained it elsewhere (the key or a file holding it); "
                             "the bundle's key must be this one")
    verify.set_defaults(handler=_verify)

    sequence = commands.add_parser("sequence", help="run the Kafka log's sequencer (one per log: a new one fences "
                                                    "the old), replaying its tree and signing checkpoints")
    sequence.set_defaults(handler=_sequence)
    erase = commands.add_parser("erase", help="erase a person: destroy their data key, record person.erased")
    erase.add_argument("--person", required=True, help="the person's id (e.g. a miner_id)")
    erase.add_argument("--reason", required=True, help="why, in words (kept in the log: no personal data)")
    erase.set_defaults(handler=_erase)
    miners = commands.add_parser("miners", help="miners' statement cards").add_subparsers(dest="miners_command",
                                                                                        required=True)
    card = miners.add_parser("card", help="make a statement link for a miner and save its card (SVG, QR code)")
    card.add_argument("miner_id")
    card.add_argument("--out", type=Path, help="the card's file, an SVG to print (default: card-MINER_ID.svg)")
    card.set_defaults(handler=_miners_card)
    add_signing_commands(commands)
    return parser


def add_signing_commands(commands) -> None:
    """``oretrail keygen`` and ``oretrail sign``: an organisation's Ed25519 key and its signed envelopes."""
    keygen = commands.add_parser("keygen", help="make an Ed25519 signing key (PEM file, 0600); print its public key")
    keygen.add_argument("--out", type=Path, required=True, help="the private key file to create")
    keygen.set_defaults(handler=_keygen)
    sign = commands.add_parser("sign", help="sign an envelope (or {\"events\": [...]}) read from stdin")
    sign.add_argument("--key", type=Path, required=True, help="the private key file (from oretrail keygen)")
    sign.add_argument("--key-id", required=True, help="the key_id it was registered under")
    sign.set_defaults(handler=_sign)


def _keygen(settings: Settings, args) -> int:
    from events import signing

    key = signing.new_private_key()
    try:
        descriptor = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ValueError(f"{args.out} exists; a signing key is never overwritten") from None
    with os.fdopen(descriptor, "wb") as file:
        file.write(signing.private_key_pem(key))
    print(signing.public_key_b64(key))
    return 0


def _sign(settings: Settings, args) -> int:
    from events import signing

    key = signing.load_private_key(args.key.read_bytes())
    document = json.load(sys.stdin)
    if isinstance(document, dict) and isinstance(document.get("events"), list):
        document = {**document, "events": [signing.sign_envelope(event, key, args.key_id) for event in document["events"]]}
    elif isinstance(document, dict):
        document = signing.sign_envelope(document, key, args.key_id)
    else:
        raise ValueError("stdin must hold one event envelope or {\"events\": [...]}")
    json.dump(document, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


def _platform(settings: Settings):
    from composition.bootstrap import build_platform

    return build_platform(settings)


def _serve(settings: Settings, args) -> int:
    from composition.server import serve

    serve(settings, host=args.host or settings.host, port=args.port or settings.port, threads=args.threads)
    return 0


def _keys_create(settings: Settings, args) -> int:
    platform = _platform(settings)
    print(platform.keys.create(args.org, args.role))
    return 0


def _keys_revoke(settings: Settings, args) -> int:
    platform = _platform(settings)
    if not platform.keys.revoke(args.key_id):
        print(f"oretrail: no active key {args.key_id}", file=sys.stderr)
        return 1
    return 0


def _demo(settings: Settings, args) -> int:
    from services.demo import seed_demo

    platform = _platform(settings)
    try:
        summary = seed_demo(platform, force=args.force)
        views = platform.views()
        for link in summary.get("statement_links", []):
            link["card"] = settings.data_dir / "cards" / f"card-{link['miner_id']}.svg"
            save_card(platform, views, link["miner_id"], link["url"], link["card"])
    finally:
        platform.close()
    if summary["seeded"]:
        print(f"demo: recorded {summary['events_recorded']} events")
    else:
        print(f"demo: already seeded ({summary['reason']})")
    keys = json.loads(Path(summary["keys_file"]).read_text()) if summary.get("keys_file") else {}
    product = summary["products"][0]
    url = f"{settings.public_base_url}/v1/products/{product}/provenance"
    print(f"demo: provenance of {product}: {url}")
    print(f"demo: its public page (the QR code's): {settings.public_base_url}/p/{product}")
    print(f"demo: community impact dashboard: {settings.public_base_url}/impact")
    for link in summary.get("statement_links", []):
        print(f"demo: statement of miner {link['miner_id']}: {link['url']} (its card: {link['card']})")
    if keys:
        print(f"demo: try  curl -H 'Authorization: Bearer {keys['manufacturer']}' {url}")
        print(f"demo: API keys of the demo are in {summary['keys_file']}")
    return 0


def _miners_card(settings: Settings, args) -> int:
    platform = _platform(settings)
    try:
        url = write_card(platform, args.miner_id, args.out or Path(f"card-{args.miner_id}.svg"), "oretrail-cli")
    finally:
        platform.close()
    print(url)
    return 0


def write_card(platform, miner_id: str, out: Path, made_by: str) -> str:
    """Make a new statement link for ``miner_id`` and save its card at ``out``; the link's URL."""
    from api.statement import statement_url

    views = platform.views()
    cooperative = views.statements.cooperative_of(miner_id)
    if cooperative is None:
        raise ValueError(f"no miner {miner_id!r} is registered")
    link = views.statement_links.create(miner_id, made_by)
    url = statement_url(platform.settings.public_base_url, link.token)
    save_card(platform, views, miner_id, url, out)
    return url


def save_card(platform, views, miner_id: str, url: str, out: Path) -> None:
    """Save the card of a statement link (its URL) at ``out``."""
    from api.statement import render_card

    cooperative = views.statements.cooperative_of(miner_id)
    with platform.create_app(views).app_context():
        html = render_card(miner_id, views.statements.cooperative_name(cooperative) if cooperative else None, url)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html)


def _project(settings: Settings, args) -> int:
    platform = _platform(settings)
    if args.all == bool(args.name):
        raise ValueError("name one projector, or --all")
    runners = list(platform.runners.values()) if args.all else [platform.runner(args.name)]
    if settings.metrics_port:
        from services.metrics import serve_metrics

        serve_metrics(platform.metrics, settings.metrics_port)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):  # docker stop, Ctrl-C: finish the batch in hand, then leave
        signal.signal(signum, lambda *_: stop.set())
    workers = [threading.Thread(target=runner.run_forever, args=(stop,), daemon=True) for runner in runners]
    for worker in workers:
        worker.start()
    while not stop.is_set() and any(worker.is_alive() for worker in workers):
        stop.wait(0.5)
    stop.set()
    for worker in workers:
        worker.join(30)
    platform.close()
    return 0


def _deliver(settings: Settings, args) -> int:
    from composition.bootstrap import open_sender

    platform = _platform(settings)  # creates the outbox tables if this process is the first
    sender = open_sender(settings, platform.engine)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):  # finish the deliveries in hand, then leave
        signal.signal(signum, lambda *_: stop.set())
    try:
        sender.run_forever(stop)
    finally:
        sender.stop()
        platform.close()
    return 0


def _rebuild(settings: Settings, args) -> int:
    platform = _platform(settings)
    runner = platform.runner(args.name)
    with tqdm(total=platform.log.end().total, unit="event", desc=f"rebuild {args.name}",
              disable=None, file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)
        count = runner.rebuild(progress)
    print(f"rebuilt {args.name} from {count} events")
    return 0


def _openapi(settings: Settings, args) -> int:
    from api.openapi import render_yaml

    document = render_yaml(_platform(settings).create_app())
    if args.output:
        args.output.write_text(document)
    else:
        sys.stdout.write(document)
    return 0


def _migrate(settings: Settings, args) -> int:
    platform = _platform(settings)  # building the platform creates what is missing
    platform.close()
    print(f"migrate: tables ready on {platform.engine.dialect.name}")
    return 0


def _status(settings: Settings, args) -> int:
    report = _platform(settings).readiness()
    print(json.dumps(report, indent=2))
    return 0 if report["status"] == "ready" else 1


def _erase(settings: Settings, args) -> int:
    from services.erasure import OPERATOR, erase_person

    platform = _platform(settings)
    try:
        result = erase_person(platform.app_context().capture, OPERATOR, args.person, args.reason)
    finally:
        platform.close()
    print(f"erase: {result['person_id']}: key destroyed; person.erased {result['event_id']} {result['status']}")
    return 0


def _verify(settings: Settings, args) -> int:
    if args.log == (args.bundle is not None):
        raise ValueError("verify takes either --log or a BUNDLE file")
    if args.key is not None and args.bundle is None:
        raise ValueError("--key goes with a BUNDLE file")
    return _verify_log(settings, args) if args.log else verify_bundle_file(args.bundle, args.key)


def verify_bundle_file(path: str, key: str | None = None) -> int:
    """Check an evidence bundle offline (no database, no server); 0 if it holds, 1 naming the first thing wrong."""
    from events.evidence import EvidenceError, check_bundle

    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    if key is not None and Path(key).is_file():
        key = Path(key).read_text(encoding="utf-8").strip()
    try:
        summary = check_bundle(json.loads(text), key)
    except json.JSONDecodeError as exc:
        print(f"verify: {path}: not JSON ({exc})", file=sys.stderr)
        return 1
    except EvidenceError as exc:
        print(f"verify: {exc}", file=sys.stderr)
        return 1
    trust = "the key you gave" if key is not None else "the bundle's own key (give --key to check it is the log's)"
    print(f"verify: {summary.product_id}: {summary.events} events in the log at tree size {summary.tree_size}, "
          f"checkpoint signed by {trust}; {summary.signed} signed by their organisation's key "
          f"({summary.keys} keys, each proven registered); {summary.withheld} withheld (hash and proof only)")
    return 0


def _verify_log(settings: Settings, args) -> int:
    from services.log_audit import audit_log, audit_sequenced_log

    platform = _platform(settings)
    try:
        if platform.transparency is None:
            raise ValueError("this log keeps no Merkle tree")
        transparency = platform.transparency
        verifier = transparency.signer.verifier()
        if platform.tree_replay is not None:  # Kafka: the sequencer's order, replayed here first
            platform.tree_replay.catch_up()
            report = audit_sequenced_log(platform.log, platform.tree_replay.topic, transparency.tree, verifier,
                                         transparency.origin)
        else:
            report = audit_log(platform.log, transparency.tree, verifier, transparency.origin)
    finally:
        platform.close()
    for problem in report.problems:
        print(f"verify: {problem}", file=sys.stderr)
    if not report.ok:
        return 1
    signed = "no checkpoint signed yet" if report.checkpoint_size is None else \
        f"the signed checkpoint of tree size {report.checkpoint_size} matches, and {report.checkpoints - 1} earlier ones"
    waiting = f"; {report.unsequenced} events not sequenced yet" if report.unsequenced else ""
    print(f"verify: {report.events} events hash to their leaves; {signed}{waiting}")
    return 0


def _sequence(settings: Settings, args) -> int:
    platform = _platform(settings)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        sequencer = platform.start_sequencer()
        platform.start_checkpointer()
        while not stop.is_set() and not sequencer.fenced:
            stop.wait(0.5)
    finally:
        platform.close()
    if sequencer.fenced:  # not a failure to restart from: restarting would fence the newer one
        print("oretrail: another sequencer took over (this one was fenced); stopping", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:] if len(sys.argv) > 1 else None))
