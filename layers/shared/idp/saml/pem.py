"""PEM text without a crypto library: the metadata function publishes certificates it only has to
copy, so it need not import `cryptography` (about 25 ms of its cold start)."""
from __future__ import annotations

import re

PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)


def certificate_body(pem: str) -> str:
    """The base64 body of a PEM certificate on one line (for ds:X509Certificate)."""
    m = PEM_BLOCK.search(pem)
    body = m.group(2) if m else pem
    return re.sub(r"\s+", "", body)
