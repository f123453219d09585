"""MMS images on disk: read and checked (JPEG only, within the size limit)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ivr_engine.domain.sms_policy import EffectivePolicy, SmsPolicy, effective
from ivr_engine.domain.sms_text import MMS_MAX_IMAGE_BYTES, TextError, check_image


def image_path(name: str, image_dir: str | Path = ".") -> Path:
    """Where an image named in a template lives (relative names under ``image_dir``)."""
    path = Path(name).expanduser()
    return path if path.is_absolute() else Path(image_dir) / path


def read_image(
    name: str, image_dir: str | Path = ".", max_bytes: int = MMS_MAX_IMAGE_BYTES
) -> bytes:
    """The image's bytes; TextError when it is missing, not a JPEG or too large."""
    path = image_path(name, image_dir)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TextError(f"{name}: cannot read the image ({exc.strerror or exc})") from None
    try:
        check_image(data, max_bytes)
    except TextError as exc:
        raise TextError(f"{name}: {exc}") from None
    return data


async def read_image_async(
    name: str, image_dir: str | Path = ".", max_bytes: int = MMS_MAX_IMAGE_BYTES
) -> bytes:
    """``read_image`` off the event loop."""
    return await asyncio.to_thread(read_image, name, image_dir, max_bytes)


def check_policy_images(policy: SmsPolicy | EffectivePolicy, image_dir: str | Path = ".") -> None:
    """Read and check every image the policy's templates name; TextError on the first bad
    one (for saving a policy: a PNG or an oversized JPEG is refused then, not at send)."""
    full = policy if isinstance(policy, EffectivePolicy) else effective(policy)
    for key, template in full.templates:
        if template.image is not None:
            try:
                read_image(template.image, image_dir, full.max_image_bytes)
            except TextError as exc:
                raise TextError(f"callback_sms.templates.{key}.image: {exc}") from None
