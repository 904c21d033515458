"""Face templates sealed at rest with AES-256-GCM, and where the key comes from.

A sealed template is ``nonce (12 bytes) || ciphertext || tag (16 bytes)``.
The associated data names the citizen, so a sealed template moved to another
citizen's row does not open. The gate's copies are the same sealed bytes.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from base64 import b64encode
from pathlib import Path

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from biometrics.encoder import Encoding
from gatesim.settings import TEMPLATE_KEY_BYTES, Settings, decode_template_key
from identity_mock.models import FaceTemplate

logger = logging.getLogger(__name__)

NONCE_BYTES = 12
ENCODING_BYTES = 128 * 4
"""An encoding is 128 float32 values, little-endian."""
KEY_FILE_MODE = 0o600
DEFAULT_KEY_FILE = Path("gatesim.key")
"""The development key file when the database is not a SQLite file."""


class TemplateKeyError(RuntimeError):
    """The template key is missing, malformed, or not the one templates were sealed
    with."""


class TemplateUnreadable(ValueError):
    """A sealed template does not open with this key and this citizen."""


class TemplateCipher:
    """Seals and opens face encodings with one AES-256-GCM key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != TEMPLATE_KEY_BYTES:
            raise TemplateKeyError(
                f"the template key must be {TEMPLATE_KEY_BYTES} bytes"
            )
        self._aead = AESGCM(key)

    @classmethod
    def generate(cls) -> TemplateCipher:
        """A cipher with a fresh random key (tests and benchmarks)."""
        return cls(AESGCM.generate_key(bit_length=8 * TEMPLATE_KEY_BYTES))

    def seal(self, encoding: Encoding, *, citizen_id: int) -> bytes:
        """The stored bytes of a citizen's float32 ``(128,)`` encoding."""
        plain = np.asarray(encoding, dtype="<f4").tobytes()
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plain, _associated(citizen_id))

    def open(self, sealed: bytes, *, citizen_id: int) -> Encoding:
        """The float32 ``(128,)`` encoding; `TemplateUnreadable` if it does not open."""
        plain = self.open_bytes(sealed, citizen_id=citizen_id)
        return np.frombuffer(plain, dtype="<f4").astype(np.float32)

    def open_bytes(self, sealed: bytes, *, citizen_id: int) -> bytes:
        """The 512 little-endian float32 bytes (galleries join many at once)."""
        nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        try:
            plain = self._aead.decrypt(nonce, body, _associated(citizen_id))
        except (InvalidTag, ValueError) as error:
            raise TemplateUnreadable(
                "the template does not open with this key"
            ) from error
        if len(plain) != ENCODING_BYTES:
            raise TemplateUnreadable("the opened template is not one encoding")
        return plain


def _associated(citizen_id: int) -> bytes:
    return f"gatesim-template:v1:citizen:{citizen_id}".encode()


def load_cipher(settings: Settings) -> TemplateCipher:
    """The cipher of the configured key; in development, a key kept in a file.

    Production without a key is refused by the settings themselves. In
    development the key file is created once (mode 0600) and reused by every
    worker; an in-memory SQLite database gets a key that lives as long as it.
    """
    if settings.template_key is not None:
        return TemplateCipher(decode_template_key(settings.template_key))
    key_file = development_key_file(settings)
    if key_file is None:
        logger.warning("no GATESIM_TEMPLATE_KEY: templates sealed with a key in memory")
        return TemplateCipher.generate()
    return TemplateCipher(_read_or_create_key(key_file))


def development_key_file(settings: Settings) -> Path | None:
    """Where development keeps its generated key (None: an in-memory database)."""
    if settings.template_key_file is not None:
        return settings.template_key_file
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite":
        return DEFAULT_KEY_FILE
    if url.database in (None, "", ":memory:"):
        return None
    return Path(f"{url.database}.key")


def _read_or_create_key(key_file: Path) -> bytes:
    if not key_file.exists():
        _create_key_file(key_file)
    try:
        return decode_template_key(SecretStr(key_file.read_text().strip()))
    except ValueError as error:
        raise TemplateKeyError(
            f"{key_file} does not hold a base64 32-byte key: restore it or delete "
            "it together with the database"
        ) from error


def _create_key_file(key_file: Path) -> None:
    """Write a new key atomically; another worker may win the race, and that is
    fine: everyone then reads the winner's key."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = b64encode(secrets.token_bytes(TEMPLATE_KEY_BYTES)).decode()
    descriptor, scratch = tempfile.mkstemp(dir=key_file.parent, prefix=".key-")
    try:
        os.fchmod(descriptor, KEY_FILE_MODE)
        os.write(descriptor, key.encode())
        os.close(descriptor)
        os.link(scratch, key_file)
        logger.warning(
            "no GATESIM_TEMPLATE_KEY: generated a development key in %s", key_file
        )
    except FileExistsError:
        pass
    finally:
        os.unlink(scratch)


def check_template_key(sessions: sessionmaker[Session], cipher: TemplateCipher) -> None:
    """Refuse to start when the stored templates were sealed with another key."""
    with sessions() as session:
        stored = session.execute(
            select(FaceTemplate.citizen_id, FaceTemplate.encoding_bytes).limit(1)
        ).first()
    if stored is None:
        return
    if len(stored.encoding_bytes) == ENCODING_BYTES:
        raise TemplateKeyError(
            "The database holds face templates stored in clear by an earlier "
            "version: run `gatesim seal` once to seal them."
        )
    try:
        cipher.open(stored.encoding_bytes, citizen_id=stored.citizen_id)
    except TemplateUnreadable as error:
        raise TemplateKeyError(
            "The stored face templates were sealed with another key: set "
            "GATESIM_TEMPLATE_KEY (or the development key file) to the key they "
            "were sealed with."
        ) from error
