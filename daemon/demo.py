"""`steward demo`: the whole service working on a fresh machine, in under a minute.

It starts the daemon on the built-in sandbox in a temporary (or given) state directory, makes
an SLT approval key, submits two signed posts (one with a photo) due within seconds and one
unsigned post, waits until they are published or refused, then has four invented people reply
on X (thanks, a parent's fair complaint, a threat, and someone condemning abuse by quoting it)
and shows what the moderation detector decided for each and why. It prints where the audit log
is and whether the log verifies. Nothing leaves this machine.
"""

from __future__ import annotations

import signal
import tempfile
import threading
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from config.settings import (
    ApprovalSettings,
    IntakeSettings,
    ModerationSettings,
    PathSettings,
    SandboxSettings,
    SignerSettings,
    StewardSettings,
)
from daemon.audit.verification import verify_chain
from daemon.posts.sample_images import png_image
from daemon.posts.submitting import submit
from daemon.runtime.clock import Clock
from daemon.runtime.keys import ApprovalKey, audit_signing_key, load_key, new_key, public_key_text
from daemon.runtime.logs import configure_logging
from daemon.service import Service, StartupError

SIGNER = "Head Teacher (demo)"
DEMO_ROSTER = ("First Name,Surname,Preferred Name,Year\n"  # invented pupils, for the name check
               "Amelia,Hartley,Millie,4\nOliver,Nwosu,Olly,6\nSofia,Lindqvist,,2\n")
WAIT_SECONDS = 60
# The first sweep builds the contextual model's graph (about 10 s, once per state directory).
MODERATION_WAIT_SECONDS = 120
# Replies from invented people, each with what the demo expects: "act" (hidden, evidence kept,
# reported), "not act" (a parent's fair complaint and counter-speech must never be hidden), or
# "allow". The threat's and the quote's words are not printed, only their description.
DEMO_REPLIES = (
    ("a thank-you", "Thank you, the children had a brilliant day!", "allow"),
    ("a parent's fair complaint", "Really disappointed the juniors' races were cut short "
     "again. Please plan the timings better next year.", "not act"),
    ("a threat", "I will find you after school and hurt you", "act"),
    ("counter-speech quoting abuse", "Whoever wrote 'go back to your own country' under the "
     "last post should be ashamed, our families are welcome here", "not act"),
)


def _draft(folder: Path, publish_at: datetime, text: str, image: bytes | None = None) -> Path:
    folder.mkdir(parents=True)
    lines = ["+++", f'publish_at = "{publish_at:%Y-%m-%dT%H:%M:%S}"',
             'platforms = ["x", "facebook"]']
    if image is not None:
        (folder / "sports-day.png").write_bytes(image)
        lines += ["pictured = []  # no pupil can be identified", "[[images]]", 'file = "sports-day.png"',
                  'alt = "Relay batons and rosettes laid out on the school field"']
    lines += ["+++", text, ""]
    (folder / "post.md").write_text("\n".join(lines), encoding="utf-8")
    return folder


def _settings(state_dir: Path, key: ApprovalKey) -> StewardSettings:
    scenario = resources.files("sandbox") / "scenarios" / "demo.toml"
    return StewardSettings(
        mode="sandbox",
        paths=PathSettings(state_dir=state_dir),
        intake=IntakeSettings(settle_seconds=0.5, scan_interval_seconds=5),
        approval=ApprovalSettings(signers=[SignerSettings(name=key.name,
                                                          public_key=key.public_key_base64())]),
        sandbox=SandboxSettings(state_file=state_dir / "sandbox-state.json",
                                scenario=Path(str(scenario))),
        moderation=ModerationSettings(poll_interval_seconds=2),
    )


def run_demo(state_dir: Path | None, keep_running: bool = False) -> int:
    """Run the demo; return 0 when every post ended as expected, 1 otherwise."""
    if state_dir is None:
        state_dir = Path(tempfile.mkdtemp(prefix="steward-demo-"))
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    log_file = state_dir / "steward.log"
    configure_logging(stream=open(log_file, "a", encoding="utf-8"))  # noqa: SIM115
    keys = state_dir / "keys"
    keys.mkdir(exist_ok=True)
    key_file = keys / "head-teacher.key"
    if key_file.exists():
        key = load_key(key_file)
    else:
        key = new_key(SIGNER, key_file)
    settings = _settings(state_dir, key)
    roster = state_dir / "roster.csv"
    if not roster.exists():
        roster.write_text(DEMO_ROSTER, encoding="utf-8")
    service = Service(settings)
    print("Steward demo: everything below happens on a local sandbox, not on real accounts.\n")
    print(f"State directory: {state_dir}")
    try:
        service.start()
    except StartupError as error:
        print(f"The demo could not start: {error}")
        return 1
    try:
        return _run(service, settings, key, state_dir, log_file, keep_running)
    finally:
        service.stop("demo finished")


def _run(service: Service, settings: StewardSettings, key: ApprovalKey, state_dir: Path,
         log_file: Path, keep_running: bool) -> int:
    zone = ZoneInfo(settings.school.time_zone)
    now = Clock().now().astimezone(zone)
    stamp = f"{now:%H%M%S}"
    drafts = state_dir / "drafts" / stamp
    posts = [
        (_draft(drafts / f"welcome-back-{stamp}", now + timedelta(seconds=3),
                f"Welcome back, everyone! The autumn term starts today. ({now:%H:%M:%S})"),
         [key]),
        (_draft(drafts / f"sports-day-{stamp}", now + timedelta(seconds=6),
                f"What a sports day! Thank you to every family who came to cheer. "
                f"({now:%H:%M:%S})", png_image(64, 48, seed=now.second)),
         [key]),
        (_draft(drafts / f"unsigned-notice-{stamp}", now + timedelta(seconds=3),
                "This notice was never approved, so Steward must not publish it."), []),
    ]
    inbox = settings.paths.resolved("inbox")
    print(f"SLT key:         {state_dir / 'keys' / 'head-teacher.key'} ({key.name})")
    print(f"Inbox:           {inbox}\n")
    print("Submitting three posts (as `steward submit` does):")
    for folder, signing_keys in posts:
        submit(folder, inbox, keys=signing_keys, time_zone=settings.school.time_zone,
               max_text_bytes=settings.intake.max_text_bytes,
               max_media_bytes=settings.intake.max_media_bytes,
               max_video_bytes=settings.intake.max_video_bytes)
        state = f"signed by {key.name}" if signing_keys else "NOT signed"
        print(f"  {folder.name:<28} {state}")
    names = [folder.name for folder, _ in posts]
    rejected_dir = settings.paths.resolved("rejected")

    def finished() -> bool:
        done = service.store.submission_names(("done", "failed", "partly-failed", "held"))
        return set(names[:2]) <= done and (rejected_dir / f"{names[2]}.rejected.txt").exists()

    print("\nWaiting for the posts' publish times...", flush=True)
    completed = service.wait_until(finished, WAIT_SECONDS, poll=0.2)
    ok = completed and _report(service, settings, names, rejected_dir)
    ok = _moderation(service, state_dir / "audit.jsonl") and ok
    audit_path = state_dir / "audit.jsonl"
    service.audit.checkpoint("demo")
    verification = verify_chain([state_dir], [public_key_text(audit_signing_key(state_dir))],
                                open_tail=True)
    print(f"\nAudit log: {audit_path} ({verification.events} events, "
          f"{verification.checkpoints} signed checkpoint(s))")
    print(f"  {verification.headline()}")
    print(f"  Read it:   steward audit show --state-dir {state_dir}")
    print(f"  Report:    steward audit report --html report.html --state-dir {state_dir}")
    print(f"Log lines (JSON): {log_file}")
    if not completed:
        print(f"\nThe demo did not finish within {WAIT_SECONDS} s; see {log_file}.")
    if keep_running:
        _keep_running(service, settings, state_dir)
    return 0 if ok and verification.intact else 1


def _report(service: Service, settings: StewardSettings, names: list[str],
            rejected_dir: Path) -> bool:
    ok = True
    print("\nPublished:")
    for name in names[:2]:
        for delivery in service.store.deliveries_named(name):
            mark = (delivery.url if delivery.state == "sent"
                    else f"NOT published ({delivery.state})")
            ok &= delivery.state == "sent"
            print(f"  {name:<28} {delivery.platform:<9} {mark}")
    print("\nRefused:")
    report = rejected_dir / f"{names[2]}.rejected.txt"
    reasons = [line.strip()[2:] for line in report.read_text(encoding="utf-8").splitlines()
               if line.startswith("- ")]
    for reason in reasons:
        print(f"  {names[2]}: {reason}")
    print(f"  (the full explanation, with the policy clause: {report})")
    world = service.sandbox.state.snapshot() if service.sandbox else {}
    if world:
        tweets = [t["text"] for t in world["x"]["tweets"].values()
                  if t["author_id"] == world["x"]["me"] and not t["deleted"]]
        facebook = [p["message"] for p in world["facebook"]["posts"].values() if not p["deleted"]]
        once = True
        for name in names[:2]:
            submission = service.store.submission_named(name)
            if submission is None:
                once = False
                continue
            texts = submission.posts
            once &= tweets.count(texts["x"]["text"]) == 1
            once &= facebook.count(texts["facebook"]["text"]) == 1
        never = not any("never approved" in text for text in tweets + facebook)
        print(f"\nSandbox state: each approved post exactly once on X and on Facebook: "
              f"{'yes' if once else 'NO'}; the unsigned post nowhere: "
              f"{'yes' if never else 'NO'}")
        ok &= once and never
    return ok and bool(reasons)


def _audit_events(path: Path, name: str) -> list[dict]:
    import json  # noqa: PLC0415

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    events = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a line being written
        if event.get("event") == name:
            events.append(event)
    return events


def _moderation(service: Service, audit_path: Path) -> bool:
    """Four invented replies on the school's latest post on X, and what the detector did with
    each (its verdict and its reasons: the layers, the model's score and thresholds, the rule
    that decided), as the audit log's `reply.classified` events record them."""
    if service.sandbox is None:
        return True
    from sandbox.events import apply_event  # noqa: PLC0415

    print("\nModeration: four people reply to the school's post on X.")
    print("  (the first sweep builds the contextual model's graph in the state directory, "
          "once)", flush=True)
    replies = []
    for number, (label, text, expected) in enumerate(DEMO_REPLIES, start=1):
        created = apply_event(service.sandbox.state, {
            "kind": "x.reply", "user_id": f"{3900000000000000000 + number}",
            "username": f"DemoParent{number}", "text": text})
        replies.append((label, created["id"], expected))

    def classified() -> dict[str, dict]:
        return {event["reply_id"]: event for event in _audit_events(audit_path,
                                                                      "reply.classified")}

    service.wait_until(lambda: all(reply_id in classified() for _, reply_id, _ in replies),
                       MODERATION_WAIT_SECONDS, poll=0.5)
    found = classified()
    [ready, *_] = _audit_events(audit_path, "moderation.detector_ready") or [{}]
    print(f"  Detector: {ready.get('detector', 'did not start')}")
    ok = True
    for label, reply_id, expected in replies:
        event = found.get(reply_id)
        if event is None:
            print(f"  {label:<30} NOT classified within {MODERATION_WAIT_SECONDS} s")
            ok = False
            continue
        verdict = event["verdict"]
        met = (verdict == "act") if expected == "act" else (
            verdict != "act") if expected == "not act" else True
        ok &= met
        print(f"  {label:<30} {verdict:<6} {'' if met else '(UNEXPECTED) '}"
              f"{'; '.join(event['reasons'])}")
    return ok


def _keep_running(service: Service, settings: StewardSettings, state_dir: Path) -> None:
    inbox = settings.paths.resolved("inbox")
    print(f"\nStill running (Ctrl-C to stop). The sandbox is at {service.sandbox_url}:\n"
          f"  curl {service.sandbox_url}/_sandbox/state\n"
          f"  steward submit MY-POST --sign {state_dir / 'keys' / 'head-teacher.key'} "
          f"--inbox {inbox}\n"
          f"  steward status --state-dir {state_dir}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
