"""Test helper: pysaml2's ``Saml2Client`` as a second, independent strict SP.

python3-saml (saml_testkit.py) verifies with python-xmlsec in-process; pysaml2 verifies
with Debian's ``xmlsec1`` binary in a subprocess, trusts only the certificates in the IdP
metadata (``only_use_keys_in_metadata``), and checks InResponseTo against the requests it
has outstanding. Needs ``xmlsec1`` on PATH (``make system-deps``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from saml2 import BINDING_HTTP_POST
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.response import AuthnResponse

from idp_testing.saml_sp import ACS_URL, SP_ENTITY_ID

#: Clock drift pysaml2 tolerates on NotBefore / NotOnOrAfter / IssueInstant (seconds).
ACCEPTED_TIME_DIFF = 60


def xmlsec1_binary() -> str | None:
    return shutil.which("xmlsec1")


def sp_config(
    idp_metadata: bytes | str,
    *,
    key_file: Path,
    cert_file: Path,
    metadata_file: Path | None = None,
    sp_entity_id: str = SP_ENTITY_ID,
    acs_url: str = ACS_URL,
    want_response_signed: bool = True,
    want_assertions_signed: bool = True,
    allow_unsolicited: bool = False,
    accepted_time_diff: int = ACCEPTED_TIME_DIFF,
) -> dict:
    """The pysaml2 SP configuration dict.

    The IdP metadata is loaded inline, or from ``metadata_file`` ("local") when given
    (the file is written here).
    """
    xml = idp_metadata.decode("utf-8") if isinstance(idp_metadata, bytes) else idp_metadata
    if metadata_file is not None:
        metadata_file.write_text(xml, encoding="utf-8")
        metadata = {"local": [str(metadata_file)]}
    else:
        metadata = {"inline": [xml]}
    binary = xmlsec1_binary()
    if binary is None:  # pragma: no cover - environment problem, reported by the tests
        raise RuntimeError("Debian's xmlsec1 is not installed (run `make system-deps`)")
    return {
        "entityid": sp_entity_id,
        "xmlsec_binary": binary,
        "key_file": str(key_file),
        "cert_file": str(cert_file),
        "metadata": metadata,
        "accepted_time_diff": accepted_time_diff,
        "allow_unknown_attributes": True,  # OfficeSpace's attribute names are not in pysaml2's maps
        "only_use_keys_in_metadata": True,  # never trust the certificate in the signature's KeyInfo
        "service": {
            "sp": {
                "endpoints": {"assertion_consumer_service": [(acs_url, BINDING_HTTP_POST)]},
                "allow_unsolicited": allow_unsolicited,
                "want_response_signed": want_response_signed,
                "want_assertions_signed": want_assertions_signed,
                "want_assertions_or_response_signed": True,
                "name_id_format": ["urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"],
            }
        },
    }


def make_client(idp_metadata: bytes | str, **kw) -> Saml2Client:
    conf = SPConfig()
    conf.load(sp_config(idp_metadata, **kw))
    return Saml2Client(config=conf)


def parse(client: Saml2Client, saml_response: str, outstanding: dict | None) -> AuthnResponse:
    """Consume a POSTed SAMLResponse like pysaml2's ACS does (raises on rejection)."""
    resp = client.parse_authn_request_response(saml_response, BINDING_HTTP_POST, outstanding=outstanding)
    if resp is None:  # pysaml2 returns None for a body it cannot unravel
        raise AssertionError("pysaml2 returned no response")
    return resp
