"""Build prompt sounds: texts through TTS, uploads through pydub, into ``<sounds>/ivr/``.

Each sound is built once: a file that exists and is a valid 8 kHz mono 16-bit WAV is kept
(unless ``force``), except when it must be remade (an upload changed since, or gTTS was
unreachable when it was spoken). Jobs run on a small thread pool: the heavy work happens in
espeak-ng and ffmpeg subprocesses.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path

from ivr_engine.domain.model import PROMPT_TEXT_MAX
from ivr_engine.prompts import audio
from ivr_engine.prompts.collect import PromptRef
from ivr_engine.prompts.manifest import ManifestEntry, load_manifest, save_manifest
from ivr_engine.prompts.names import (
    SYSTEM_PROMPTS,
    TONE_PROMPTS,
    audio_sound_name,
    is_upload,
    normalise_text,
    system_sound_name,
    tts_sound_name,
)
from ivr_engine.prompts.progress import Progress
from ivr_engine.prompts.tts import FallbackSynth, GttsSynth, Synth, choose_synth

log = logging.getLogger(__name__)

BUILT, CACHED, FAILED = "built", "cached", "failed"


@dataclass(frozen=True)
class BuildJob:
    """One sound to make: a text to speak, an upload to convert, or a tone to synthesise."""

    name: str
    kind: str  # tts | audio | tone
    where: tuple[str, ...] = ()
    text: str | None = None
    voice: str | None = None
    engine: str | None = None
    source: Path | None = None  # resolved upload path
    source_label: str | None = None  # the upload path as written

    def path(self, sounds_dir: Path) -> Path:
        """The WAV file this job writes."""
        return sounds_dir / f"{self.name}.wav"


@dataclass(frozen=True)
class BuildResult:
    """What happened to one sound."""

    name: str
    status: str  # built | cached | failed
    reason: str = ""
    entry: ManifestEntry | None = None


@dataclass
class BuildReport:
    """The outcome of a build: one result per sound, and build-wide warnings."""

    results: list[BuildResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        """How many sounds ended with ``status``."""
        return sum(1 for r in self.results if r.status == status)

    @property
    def failures(self) -> list[BuildResult]:
        """The failed results, in order."""
        return [r for r in self.results if r.status == FAILED]

    def summary(self) -> str:
        """A plain multi-line summary: counts, then each failure with its reason."""
        lines = [
            f"prompts: {self.count(BUILT)} built, {self.count(CACHED)} cached, "
            f"{self.count(FAILED)} failed"
        ]
        lines += [f"warning: {w}" for w in self.warnings]
        lines += [f"failed: {r.name + ': ' if r.name else ''}{r.reason}" for r in self.failures]
        return "\n".join(lines)


def plan_jobs(
    refs: Iterable[PromptRef], voice: str, engine: str, base_dir: Path
) -> tuple[list[BuildJob], list[BuildResult]]:
    """Turn the configuration's prompts into distinct jobs; refuse bad ones up front.

    Prompts sharing a sound are merged (their places kept). Upload paths are resolved
    against ``base_dir`` (the configuration file's folder) when relative. Audio values that
    are plain Asterisk sound names need no build and are skipped."""
    jobs: dict[str, BuildJob] = {}
    refused: list[BuildResult] = []
    for ref in refs:
        job = _job_for(ref, voice, engine, base_dir, refused)
        if job is None:
            continue
        known = jobs.get(job.name)
        jobs[job.name] = job if known is None else replace(known, where=known.where + job.where)
    return list(jobs.values()), refused


def _job_for(
    ref: PromptRef, voice: str, engine: str, base_dir: Path, refused: list[BuildResult]
) -> BuildJob | None:
    """The job for one prompt, or None (refusal appended, or nothing to build)."""
    prompt = ref.prompt
    if prompt.text is not None:
        text = normalise_text(prompt.text)
        if not text:
            refused.append(BuildResult("", FAILED, f"{ref.where}: prompt text is empty"))
            return None
        if len(text) > PROMPT_TEXT_MAX:
            refused.append(
                BuildResult(
                    "",
                    FAILED,
                    f"{ref.where}: prompt text is {len(text)} "
                    f"characters; the limit is {PROMPT_TEXT_MAX}",
                )
            )
            return None
        return BuildJob(
            tts_sound_name(text, voice, engine),
            "tts",
            (ref.where,),
            text=text,
            voice=voice,
            engine=engine,
        )
    if prompt.audio is not None and is_upload(prompt.audio):
        label = prompt.audio.strip()
        src = Path(label).expanduser()
        return BuildJob(
            audio_sound_name(label),
            "audio",
            (ref.where,),
            source=src if src.is_absolute() else base_dir / src,
            source_label=label,
        )
    return None


def system_jobs(voice: str = "ko", engine: str = "espeak") -> list[BuildJob]:
    """The shipped system prompts: Korean speech, plus the default coloring tone."""
    jobs = []
    for name, text in SYSTEM_PROMPTS.items():
        kind = "tone" if name in TONE_PROMPTS else "tts"
        jobs.append(
            BuildJob(
                system_sound_name(name),
                kind,
                (f"system prompt {name}",),
                text=text or None,
                voice=voice,
                engine=engine,
            )
        )
    return jobs


def _sha256(path: Path) -> str | None:
    """Content hash of a file; None when it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def is_current(
    job: BuildJob, sounds_dir: Path, entry: ManifestEntry | None, requested_reachable: bool = True
) -> bool:
    """True when the job's file exists, is valid, and need not be remade."""
    if not audio.is_valid_sound(job.path(sounds_dir)):
        return False
    if job.kind == "audio":
        return entry is not None and entry.source_sha256 == _sha256(job.source or Path())
    if job.kind == "tts" and entry is not None and entry.provisional:
        return not requested_reachable  # retry the requested engine once it works
    return True


def pending_jobs(jobs: Iterable[BuildJob], sounds_dir: Path) -> list[BuildJob]:
    """The jobs ``prompts build`` would have to run (their sound missing or to be remade);
    reads the sounds directory and its manifest, writes nothing."""
    manifest = load_manifest(sounds_dir)
    return [j for j in jobs if not is_current(j, sounds_dir, manifest.get(j.name))]


def run_job(job: BuildJob, synth: Synth, sounds_dir: Path, workdir: Path) -> BuildResult:
    """Make one sound; any failure becomes a failed result naming where the prompt is."""
    dest = job.path(sounds_dir)
    try:
        if job.kind == "tone":
            info = audio.write_atomic(audio.chime(), dest)
            return BuildResult(
                job.name, BUILT, entry=ManifestEntry("tone", duration_ms=info.duration_ms)
            )
        if job.kind == "audio":
            assert job.source is not None
            info = audio.convert_file(job.source, dest)
            return BuildResult(
                job.name,
                BUILT,
                entry=ManifestEntry(
                    "audio",
                    duration_ms=info.duration_ms,
                    source=job.source_label,
                    source_sha256=_sha256(job.source),
                ),
            )
        return _speak(job, synth, dest, workdir)
    except Exception as exc:
        where = job.where[0] if job.where else job.name
        return BuildResult(job.name, FAILED, f"{where}: {exc}")


def _speak(job: BuildJob, synth: Synth, dest: Path, workdir: Path) -> BuildResult:
    """Speak a text job and convert it; the manifest entry records which engine spoke."""
    assert job.text is not None and job.voice is not None
    raw_base = workdir / dest.stem
    if isinstance(synth, FallbackSynth):
        raw, used = synth.synthesise_with(job.text, job.voice, raw_base)
    else:
        raw, used = synth.synthesise(job.text, job.voice, raw_base), synth.engine
    try:
        info = audio.convert_file(raw, dest)
    finally:
        raw.unlink(missing_ok=True)
    return BuildResult(
        job.name,
        BUILT,
        entry=ManifestEntry(
            "tts",
            text=job.text,
            voice=job.voice,
            engine=used,
            requested_engine=job.engine,
            duration_ms=info.duration_ms,
        ),
    )


def build_sounds(
    jobs: list[BuildJob],
    sounds_dir: Path,
    engine: str = "espeak",
    force: bool = False,
    workers: int = 2,
    synth: Synth | None = None,
    progress: Progress | None = None,
    gtts: GttsSynth | None = None,
) -> BuildReport:
    """Build every job not already current, in parallel, and update the manifest.

    ``synth`` overrides the engine choice; ``gtts`` sets where gTTS is probed."""
    report = BuildReport()
    if synth is None:
        synth, warning = choose_synth(engine, gtts)
        if warning:
            report.warnings.append(warning)
            log.warning("%s", warning)
    reachable = not report.warnings
    manifest = load_manifest(sounds_dir)
    todo = []
    for job in jobs:
        if not force and is_current(job, sounds_dir, manifest.get(job.name), reachable):
            report.results.append(BuildResult(job.name, CACHED))
        else:
            todo.append(job)
    progress = progress or Progress(len(todo))
    with (
        tempfile.TemporaryDirectory(prefix="ivr-prompts-") as tmp,
        ThreadPoolExecutor(max_workers=max(1, workers)) as pool,
    ):
        futures = [pool.submit(run_job, job, synth, sounds_dir, Path(tmp)) for job in todo]
        for future in as_completed(futures):
            result = future.result()
            report.results.append(result)
            if result.entry is not None:
                manifest[result.name] = result.entry
            progress.advance(result.name)
    progress.close()
    if todo:
        save_manifest(sounds_dir, manifest)
    return report


def say(
    text: str,
    out: Path,
    voice: str = "ko",
    engine: str = "espeak",
    synth: Synth | None = None,
    gtts: GttsSynth | None = None,
) -> BuildResult:
    """Speak one ad-hoc text into ``out`` (an Asterisk-native WAV), outside any manifest."""
    text = normalise_text(text)
    if not text:
        return BuildResult(str(out), FAILED, "the text is empty")
    if len(text) > PROMPT_TEXT_MAX:
        return BuildResult(
            str(out), FAILED, f"the text is {len(text)} characters; the limit is {PROMPT_TEXT_MAX}"
        )
    if synth is None:
        synth, warning = choose_synth(engine, gtts)
        if warning:
            log.warning("%s", warning)
    job = BuildJob(out.stem, "tts", ("command line",), text=text, voice=voice, engine=engine)
    with tempfile.TemporaryDirectory(prefix="ivr-say-") as tmp:
        try:
            return _speak(job, synth, out, Path(tmp))
        except Exception as exc:
            return BuildResult(str(out), FAILED, str(exc))
