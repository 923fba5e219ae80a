"""Artifact uploads: POST /storage/artifacts with the bytes, as multipart or JSON.

Multipart bodies are streamed part by part straight into a blob upload, so
memory stays flat whatever the size, and aiohttp's client_max_size (which
only bounds bodies read whole) does not apply to them; the artifact cap does.
JSON bodies are read whole, so `content` and `content_base64` are bounded by
VAULT_MAX_BODY_BYTES too: multipart is the form for large files.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
import warnings
from typing import Any

import attrs
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.multipart import BadContentDispositionHeader, BadContentDispositionParam
from vault.handlers import part_headers
from vault.handlers.common import idempotency_claim, store_of, structure
from vault.store.errors import ContentTooLarge
from vault.store.interface import Store

from vault import jsonutil
from vault.appkeys import CONFIG
from vault.errors import ApiError, RequestValidationError
from vault.inputs import ArtifactBody, NewArtifact
from vault.models import Artifact

FILE_PART = "file"
TEXT_FIELDS = ("name", "session_id", "type", "content_type", "path")
FORM_FIELDS = (*TEXT_FIELDS, "size", "metadata")
CHUNK_BYTES = 256 * 1024
OCTET_STREAM = "application/octet-stream"
TEXT_PLAIN = "text/plain; charset=utf-8"

_TOKEN = r"[A-Za-z0-9!#$%&'*+.^_`|~-]+"
# Only spaces and tabs around ";" (OWS, RFC 9110): the value goes out as a Content-Type header.
MEDIA_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}(?:[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|\"[^\"\\\x00-\x1f\x7f]*\"))*")
_WHOLE_NUMBER = re.compile(r"[0-9]{1,19}")

# aiohttp warns about a malformed Content-Disposition and reads the part as nameless; that
# part is then refused (422), so the warning would only put client input in the server log.
# (Where warnings are errors, as in the tests, the reader stops instead: 400.)
DISPOSITION_WARNINGS = (BadContentDispositionHeader, BadContentDispositionParam)
for _warning in DISPOSITION_WARNINGS:
    warnings.filterwarnings("ignore", category=_warning)


class FieldsTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


def is_media_type(text: str) -> bool:
    """Whether `text` can go out as a Content-Type header as it is."""
    return MEDIA_TYPE.fullmatch(text) is not None


def _field_error(name: str, msg: str) -> dict[str, Any]:
    return {"loc": ["body", name], "msg": msg}


def _content_type(new: NewArtifact, sent: str | None, default: str) -> str:
    """The field if given, else what the file part said, else a guess from the name."""
    if new.content_type is not None:
        return new.content_type
    sent = sent if sent and is_media_type(sent) else None
    # Clients send application/octet-stream when they do not know; the name may tell more.
    if sent is not None and sent != OCTET_STREAM:
        return sent
    guessed, _ = mimetypes.guess_type(new.name, strict=False)
    return guessed or sent or default


def _check_fields(new: NewArtifact) -> list[dict[str, Any]]:
    if new.content_type is not None and not is_media_type(new.content_type):
        return [_field_error("content_type", "must be a media type such as text/csv or image/png")]
    return []


def _check_size(new: NewArtifact, size: int) -> None:
    if new.size is not None and new.size != size:
        raise RequestValidationError([_field_error("size", f"is {new.size}, but the content is {size} bytes")])


async def _store(request: web.Request, store: Store, new: NewArtifact, upload: Any, fingerprint: bytes) -> Artifact:
    info = await upload.finish()
    _check_size(new, info.size)
    claim = idempotency_claim(request, fingerprint)
    return await store.create_artifact(new, claim, content=upload)


# -- JSON


def _decode_content(body: ArtifactBody) -> bytes:
    if body.content is not None and body.content_base64 is not None:
        raise RequestValidationError([_field_error("content_base64", "give content or content_base64, not both")])
    if body.content is not None:
        return body.content.encode()
    assert body.content_base64 is not None
    try:
        return base64.b64decode(body.content_base64, validate=True)
    except (binascii.Error, ValueError):
        error = _field_error("content_base64", "must be base64 (RFC 4648, with padding)")
        raise RequestValidationError([error]) from None


async def create_from_json(request: web.Request, body: ArtifactBody, raw: bytes) -> Artifact:
    """`{..., "content": "text"}` or `{..., "content_base64": "..."}`: the bytes are stored."""
    content = _decode_content(body)
    new = body.artifact()
    errors = _check_fields(new)
    if errors:
        raise RequestValidationError(errors)
    default = TEXT_PLAIN if body.content is not None else OCTET_STREAM
    content_type = _content_type(new, None, default)
    guessed_text = new.content_type is None and content_type.startswith("text/") and "charset" not in content_type
    if body.content is not None and guessed_text:
        # Text sent as `content` is stored as UTF-8; a type guessed from the name should say so.
        content_type += "; charset=utf-8"
    new = attrs.evolve(new, content_type=content_type)
    store = store_of(request)
    async with store.upload_content(request.app[CONFIG].max_artifact_bytes) as upload:
        await upload.write(content)
        return await _store(request, store, new, upload, raw)


# -- multipart


async def _read_field(part: BodyPartReader, budget: int) -> bytes:
    """A form field, read whole but never past the bytes left for fields."""
    data = bytearray()
    while chunk := await part.read_chunk(CHUNK_BYTES):
        data += chunk
        if len(data) > budget:
            raise FieldsTooLarge(f"the form fields are larger than {budget} bytes in all")
    return bytes(data)


class BadField(ValueError):
    """A form field's text cannot be the value its field takes."""


def _form_value(name: str, raw: bytes) -> Any:
    """Form fields are text; `metadata` is JSON in it and `size` a number."""
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise BadField("must be UTF-8 text") from None
    if name == "metadata":
        try:
            return jsonutil.loads(text)
        except ValueError as exc:
            raise BadField(f"must be a JSON object ({exc})") from None
    if name == "size":
        if not _WHOLE_NUMBER.fullmatch(text.strip()):
            raise BadField("must be a whole number of bytes")
        return int(text)
    return text


def _usable_text(text: str | None) -> str | None:
    """A header-borne string (filename, part type) that can be stored as UTF-8, or None."""
    if not text:
        return None
    try:
        text.encode()
    except UnicodeEncodeError:
        return None
    return text


async def create_from_multipart(request: web.Request) -> Artifact:
    """A `file` part with the bytes, plus the artifact's fields as form fields, in any order."""
    config = request.app[CONFIG]
    store = store_of(request)
    limit = config.max_artifact_bytes
    # Refuse at once what cannot fit, rather than after streaming it to disk.
    if request.content_length is not None and request.content_length > limit + config.max_body_bytes:
        raise ContentTooLarge(limit)
    idempotency_claim(request, b"")  # a bad header is refused before the upload, not after
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError) as exc:
        raise ApiError(f"the multipart body cannot be read: {exc}") from None
    form: dict[str, Any] = {}
    raw_form: dict[str, str] = {}
    errors: list[dict[str, Any]] = []
    budget = config.max_body_bytes
    file_seen = False
    filename = part_type = None
    async with store.upload_content(limit) as upload:
        try:
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    raise ApiError("nested multipart bodies are not accepted")
                name = part.name or ""
                if name in raw_form or (name == FILE_PART and file_seen):
                    errors.append(_field_error(name, "is given more than once"))
                    await part.release()
                elif name == FILE_PART:
                    file_seen = True
                    filename = _usable_text(part.filename)
                    part_type = _usable_text(part.headers.get("Content-Type"))
                    while chunk := await part.read_chunk(CHUNK_BYTES):
                        await upload.write(chunk)
                elif name in FORM_FIELDS:
                    raw = await _read_field(part, budget)
                    budget -= len(raw)
                    raw_form[name] = raw.decode(errors="replace")
                    try:
                        form[name] = _form_value(name, raw)
                    except BadField as exc:
                        errors.append(_field_error(name, str(exc)))
                else:
                    errors.append(_field_error(name, "is not a field of an artifact"))
                    await part.release()
        except (web.RequestPayloadError, ValueError, AssertionError, *DISPOSITION_WARNINGS) as exc:
            # aiohttp's multipart reader reports malformed bodies as ValueError (or an assert).
            raise ApiError(f"the multipart body could not be read: {exc}") from None
        except HttpProcessingError as exc:
            raise ApiError(part_headers.describe(exc)) from None
        if not file_seen:
            errors.append(_field_error(FILE_PART, "is required: a part with the artifact's bytes"))
        if "name" not in form and filename is not None:
            form["name"] = filename
        new = None
        try:
            new = structure(form, NewArtifact)
        except RequestValidationError as exc:
            errors.extend(error for error in exc.field_errors if error not in errors)
        else:
            errors.extend(_check_fields(new))
        if errors:
            raise RequestValidationError(errors)
        assert new is not None
        new = attrs.evolve(new, content_type=_content_type(new, part_type, OCTET_STREAM))
        info = await upload.finish()
        fingerprint = jsonutil.dumps({"form": raw_form, "filename": filename, "sha256": info.sha256})
        return await _store(request, store, new, upload, fingerprint)
