"""Password hashing with argon2id; hashes made with other parameters are upgraded at sign-in.

The parameters are OWASP's recommended argon2id minimum (19 MiB, 2 passes, 1 lane): about 25 ms
per hash on one core here, where argon2-cffi's defaults (64 MiB, 3 passes, 4 lanes) took ~0.5 s
on this 2-core machine — enough for a few dozen concurrent sign-ins to stall a server.
Hashing is CPU work: callers on the event loop run these functions in a thread.

The test suite hashes with argon2's cheapest profile (``use_parameters``): the same code path,
without a quarter of the suite's time going to key stretching.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

from argon2 import Parameters, PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

RECOMMENDED = replace(profiles.RFC_9106_LOW_MEMORY, time_cost=2, memory_cost=19_456, parallelism=1)
_hasher = PasswordHasher.from_parameters(RECOMMENDED)

MIN_LENGTH = 10
MAX_LENGTH = 1024


def use_parameters(parameters: Parameters) -> None:
    """Hash with ``parameters`` from now on; older hashes are upgraded at sign-in as usual."""
    global _hasher
    _hasher = PasswordHasher.from_parameters(parameters)
    _dummy_hash.cache_clear()


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
