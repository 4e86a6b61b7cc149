"""Password hashing with scrypt (memory-hard). The parameters are stored with each hash.

Stored form: ``scrypt$N$r$p$salt_hex$hash_hex``. N=2**14, r=8, p=1 needs 16 MiB per check, which makes
guessing costly on GPUs while a check at the bench stays well under a second.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

N, R, P, DKLEN, SALT_BYTES = 2**14, 8, 1, 32, 16
_MAXMEM = 64 * 1024 * 1024


def hash_password(password: str, *, n: int = N, r: int = R, p: int = P) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=DKLEN, maxmem=_MAXMEM)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored`` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        candidate = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                                   p=int(p), dklen=len(bytes.fromhex(digest)), maxmem=_MAXMEM)
    except ValueError:
        return False
    return hmac.compare_digest(candidate.hex(), digest)
