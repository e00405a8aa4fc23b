"""Password hashing (argon2id, argon2-cffi's RFC 9106 low-memory profile) and the password rules.

The hash string carries its own parameters, so raising them later only needs `needs_rehash` at the
next sign-in; old hashes keep verifying.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.errors import InvalidInput

MIN_LENGTH = 10
MAX_LENGTH = 256  # argon2 takes any length; this bounds the work one request can ask for

_hasher = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4: about 50 ms a hash


def check_rules(password: str, email: str = "") -> None:
    """Refuse a password too short or too long, or one that is the e-mail address."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"password: at least {MIN_LENGTH} characters", code="weak_password")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"password: at most {MAX_LENGTH} characters", code="invalid_password")
    if email and password.strip().lower() == email.strip().lower():
        raise InvalidInput("password: must not be the e-mail address", code="weak_password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# Verifying against this when no account has the e-mail keeps a wrong e-mail as slow as a wrong password,
# so response times do not tell which addresses have accounts.
DUMMY_HASH = hash_password("no account has this password")
