"""``ivr-engine prompts build | say | list``: make the sounds the engine plays."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ivr_engine.errors import ValidationError
from ivr_engine.prompts.build import (
    FAILED,
    BuildJob,
    BuildResult,
    build_sounds,
    plan_jobs,
    say,
    system_jobs,
)
from ivr_engine.prompts.collect import iter_prompts, load_document
from ivr_engine.prompts.manifest import load_manifest
from ivr_engine.prompts.names import ENGINES, SYSTEM_PROMPTS, engine_for, system_sound_name
from ivr_engine.settings import Settings, load_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``prompts`` and its sub-commands to the CLI."""
    parser = subparsers.add_parser("prompts", help="build and list prompt sounds")
    sub = parser.add_subparsers(dest="prompts_command", metavar="ACTION", required=True)

    b = sub.add_parser("build", help="speak every prompt of a configuration into sounds/")
    b.add_argument("file", nargs="?", help="configuration YAML (default: settings config_file)")
    b.add_argument("--engine", choices=ENGINES, help="TTS engine (default: settings)")
    b.add_argument("--voice", help="TTS voice (default: settings, ko)")
    b.add_argument("--force", action="store_true", help="rebuild sounds that already exist")
    b.add_argument("--system", action="store_true", help="build only the system prompts")
    b.add_argument("--jobs", type=int, default=2, help="parallel builds (default 2)")
    b.set_defaults(func=cmd_build)

    s = sub.add_parser("say", help="speak one text into a WAV file")
    s.add_argument("text")
    s.add_argument("-o", "--output", required=True, help="the WAV file to write")
    s.add_argument("--engine", choices=ENGINES)
    s.add_argument("--voice")
    s.set_defaults(func=cmd_say)

    ls = sub.add_parser("list", help="list the built sounds and the system prompts")
    ls.set_defaults(func=cmd_list)


def _settings(args: argparse.Namespace) -> Settings:
    """Engine settings from ``--config`` / the environment."""
    return load_settings(getattr(args, "config", None))


def _engine_voice(args: argparse.Namespace, settings: Settings) -> tuple[str, str]:
    """The TTS engine and voice: command line first, then settings."""
    ps = settings.prompts
    engine = args.engine or engine_for(ps.engine, ps.gtts_enabled)
    return engine, args.voice or ps.voice


def cmd_build(args: argparse.Namespace) -> int:
    """Build the configuration's prompts and the system prompts; exit 1 if any failed."""
    settings = _settings(args)
    engine, voice = _engine_voice(args, settings)
    sounds = Path(settings.prompts.sounds_dir)
    jobs: list[BuildJob] = system_jobs(voice, engine)
    refused: list[BuildResult] = []
    if not args.system:
        path = Path(args.file or settings.config_file)
        doc = load_document(path)
        config_jobs, refused = plan_jobs(iter_prompts(doc), voice, engine, path.parent)
        jobs += config_jobs
    report = build_sounds(jobs, sounds, engine=engine, force=args.force, workers=args.jobs)
    report.results[:0] = refused
    print(report.summary())
    return 1 if report.count(FAILED) else 0


def cmd_say(args: argparse.Namespace) -> int:
    """Speak one text into a WAV file (8 kHz mono 16-bit)."""
    settings = _settings(args)
    engine, voice = _engine_voice(args, settings)
    result = say(args.text, Path(args.output), voice, engine)
    if result.status == FAILED:
        raise ValidationError(result.reason, "prompts say")
    entry = result.entry
    print(
        f"{args.output}: {entry.duration_ms if entry else 0} ms, spoken by "
        f"{entry.engine if entry else engine}"
    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """Print every sound in the manifest and every system prompt, with its state."""
    settings = _settings(args)
    sounds = Path(settings.prompts.sounds_dir)
    manifest = load_manifest(sounds)
    out = sys.stdout
    for name in SYSTEM_PROMPTS:
        sound = system_sound_name(name)
        state = "ok" if (sounds / f"{sound}.wav").is_file() else "MISSING"
        out.write(f"{sound:<40} {state:<8} {SYSTEM_PROMPTS[name] or '(tone)'}\n")
    for sound, entry in sorted(manifest.items()):
        if sound.startswith("ivr/system/"):
            continue
        state = "ok" if (sounds / f"{sound}.wav").is_file() else "MISSING"
        what = entry.text if entry.text else f"audio {entry.source}"
        out.write(
            f"{sound:<40} {state:<8} {entry.duration_ms:>6} ms {entry.engine or '-':<7} {what}\n"
        )
    return 0
