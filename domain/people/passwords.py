"""Password hashing with argon2id; hashes made with other parameters are upgraded at sign-in.

The parameters are OWASP's recommended argon2id minimum (19 MiB, 2 passes, 1 lane): about 25 ms
per hash on one core here, where argon2-cffi's defaults (64 MiB, 3 passes, 4 lanes) took ~0.5 s
on this 2-core machine — enough for a few dozen concurrent sign-ins to stall a server.
Hashing is CPU work: callers on the event loop run these functions in a thread.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)

MIN_LENGTH = 10
MAX_LENGTH = 1024


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so that answer takes as long as a wrong
    password. Made on first use, not at import."""
    return _hasher.hash("atrium-timing-equaliser")


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
