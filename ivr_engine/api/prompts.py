"""Prompts: hear a text before using it, and upload recordings.

- ``POST /api/v1/prompts/preview`` ``{"text", "voice"?}``: the text spoken by the offline
  voice (espeak-ng), converted as calls hear it (8 kHz mono WAV), as ``audio/wav``;
- ``POST /api/v1/prompts/upload`` (multipart ``file``, ``name``): a recording for the
  tenant, checked to be decodable audio; the answer names the ``audio`` value to put in a
  prompt (``{"audio": ".../uploads/<tenant>/<name>.wav"}``); audited.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from pathlib import Path

from aiohttp import BodyPartReader, web

from ivr_engine.api.common import json_body, json_object, respond
from ivr_engine.api.context import actor_of
from ivr_engine.api.errors import ApiError, bad_input
from ivr_engine.api.registry import ApiRequest, ApiRoutes
from ivr_engine.domain.model import PROMPT_TEXT_MAX
from ivr_engine.prompts.audio import AudioError, convert_file
from ivr_engine.prompts.tts import EspeakSynth, TtsError
from ivr_engine.store import audit

routes = ApiRoutes()
MAX_UPLOAD = 10 << 20
_NAME = re.compile(r"^[A-Za-z0-9가-힣_.-]{1,60}$")
_VOICE = re.compile(r"^[a-z]{2,3}([-+][A-Za-z0-9]+)*$")


def _preview_wav(text: str, voice: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="ivr-preview-") as tmp:
        spoken = EspeakSynth().synthesise(text, voice, Path(tmp) / "raw")
        dest = Path(tmp) / "preview.wav"
        convert_file(spoken, dest)
        return dest.read_bytes()


@routes.post(
    "/prompts/preview",
    "numbers.read",
    "Hear a prompt text as callers will",
    tag="prompts",
    body="{text, voice?}",
    produces=("audio/wav",),
)
async def preview(req: ApiRequest) -> web.StreamResponse:
    data = json_object(await json_body(req))
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad_input("text is required", "text")
    if len(text) > PROMPT_TEXT_MAX:
        raise bad_input(
            f"prompt text has {len(text)} characters; at most {PROMPT_TEXT_MAX} are allowed",
            "text",
        )
    voice = data.get("voice") or req.ctx.voice or "ko"
    if not isinstance(voice, str) or not _VOICE.match(voice):
        raise bad_input("voice is an espeak-ng voice such as ko or en-us", "voice")
    try:
        wav = await asyncio.to_thread(_preview_wav, text.strip(), voice)
    except (TtsError, AudioError) as exc:
        raise ApiError(503, "tts_unavailable", f"cannot speak the text now: {exc}") from None
    return web.Response(body=wav, content_type="audio/wav")


@routes.post(
    "/prompts/upload",
    "prompts.write",
    "Upload a recording for prompts",
    tag="prompts",
    body="multipart/form-data: file, name",
)
async def upload(req: ApiRequest) -> web.StreamResponse:
    tenant = req.principal.tenant_id or req.query("tenant")
    if not tenant or not req.reach.sees_tenant(tenant):
        raise bad_input("name the tenant (?tenant=)", "tenant")
    if not req.request.content_type.startswith("multipart/"):
        raise bad_input("send multipart/form-data with a file and a name")
    reader = await req.request.multipart()
    name, raw, filename = None, b"", ""
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "name":
            name = (await part.text()).strip()
        elif part.name == "file":
            filename = part.filename or "upload"
            while chunk := await part.read_chunk():
                raw += chunk
                if len(raw) > MAX_UPLOAD:
                    raise ApiError(413, "too_large", f"a recording is at most {MAX_UPLOAD} bytes")
    if not raw:
        raise bad_input("the file is missing or empty", "file")
    name = name or Path(filename).stem
    if not _NAME.match(name):
        raise bad_input("name: letters, digits, _ . - (at most 60)", "name")
    suffix = Path(filename).suffix.lower() or ".wav"
    base = req.ctx.prompts_dir or "sounds"
    dest = Path(base) / "uploads" / tenant / f"{name}.wav"

    def convert() -> int:
        with tempfile.TemporaryDirectory(prefix="ivr-upload-") as tmp:
            src = Path(tmp) / f"in{suffix}"
            src.write_bytes(raw)
            return convert_file(src, dest.expanduser()).duration_ms

    try:
        duration = await asyncio.to_thread(convert)
    except AudioError as exc:
        raise bad_input(f"not a recording that can be played: {exc}", "file") from None
    async with req.ctx.pool.acquire() as conn:
        await audit.append(
            conn,
            actor_of(req.principal, req.address),
            action="prompt.upload",
            resource="prompt",
            resource_id=name,
            tenant_id=tenant,
            new={"audio": str(dest.expanduser()), "bytes": len(raw), "duration_ms": duration},
        )
    return respond({"audio": str(dest.expanduser()), "duration_ms": duration}, status=201)
