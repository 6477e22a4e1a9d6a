"""The stand-in's SAML 2.0 SP, built on python3-saml and nothing of the IdP it tests.

The IdP is known only through its published metadata, read at login time (and cached for a
few seconds), so the IdP app can be created after the stand-in starts, and a new signing
certificate is picked up without a restart.
"""
from __future__ import annotations

import base64
import logging
import threading
import time
import zlib
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import requests
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

log = logging.getLogger("officespace_standin.sp")

NAMEID_EMAIL = C.NAMEID_EMAIL_ADDRESS
MAX_METADATA_BYTES = 1_000_000
MAX_SAML_RESPONSE_CHARS = 2_000_000
PENDING_TTL_SECONDS = 600
MAX_PENDING = 1000
MAX_SEEN_IDS = 10_000


class MetadataError(Exception):
    """The IdP metadata could not be fetched or read."""


@dataclass
class AcsResult:
    ok: bool
    flow: str  # "sp-initiated" | "idp-initiated" | "unknown"
    relay_state: str | None
    errors: list[str] = field(default_factory=list)
    reason: str | None = None
    nameid: str | None = None
    nameid_format: str | None = None
    nameid_nq: str | None = None
    nameid_spnq: str | None = None
    session_index: str | None = None
    session_expiration: int | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    authn_contexts: list[str] = field(default_factory=list)  # the AuthnStatement's AuthnContextClassRef (how the user signed in)
    issuer: str | None = None
    in_response_to: str | None = None
    message_id: str | None = None
    assertion_id: str | None = None
    response_xml: str | None = None
    at: str = field(default_factory=lambda: datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))

    def summary(self) -> dict[str, Any]:
        """The sign-in log line (no XML)."""
        return {
            "at": self.at, "ok": self.ok, "flow": self.flow, "nameid": self.nameid,
            "nameid_format": self.nameid_format, "session_index": self.session_index,
            "attributes": self.attributes, "authn_contexts": list(self.authn_contexts), "relay_state": self.relay_state,
            "in_response_to": self.in_response_to, "errors": list(self.errors), "reason": self.reason,
        }


def safe_relay_path(value: str | None) -> str | None:
    """A RelayState this SP would follow: a local absolute path, else None (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if any(ord(ch) < 0x20 for ch in value):
        return None
    return value


class SamlSP:
    def __init__(self, *, base_url: str, sp_entity_id: str, acs_url: str, metadata_url: str,
                 slo_url: str | None = None, nameid_format: str = NAMEID_EMAIL,
                 metadata_cache_seconds: float = 5.0, http_timeout: float = 5.0):
        self.base_url = base_url.rstrip("/")
        self.sp_entity_id = sp_entity_id
        self.acs_url = acs_url
        self.slo_url = slo_url
        self.metadata_url = metadata_url
        self.nameid_format = nameid_format
        self.metadata_cache_seconds = metadata_cache_seconds
        self.http_timeout = http_timeout
        self._lock = threading.Lock()
        self._metadata: tuple[float, dict] | None = None
        self._pending: OrderedDict[str, tuple[float, str | None]] = OrderedDict()
        self._pending_logout: OrderedDict[str, float] = OrderedDict()
        self._seen_ids: OrderedDict[str, float] = OrderedDict()
        self.sign_ins: deque[dict[str, Any]] = deque(maxlen=50)

    # -- IdP metadata -------------------------------------------------------------------

    def fetch_idp_settings(self) -> dict:
        """The ``idp`` settings block read from the IdP metadata now (no cache)."""
        try:
            resp = requests.get(self.metadata_url, timeout=self.http_timeout)
        except requests.RequestException as exc:
            raise MetadataError(f"cannot reach the IdP metadata at {self.metadata_url}: {exc}") from exc
        if resp.status_code != 200:
            raise MetadataError(f"the IdP metadata at {self.metadata_url} answered HTTP {resp.status_code}"
                                " (has the app been created on the IdP?)")
        if len(resp.content) > MAX_METADATA_BYTES:
            raise MetadataError("the IdP metadata is larger than 1 MB")
        try:
            parsed = OneLogin_Saml2_IdPMetadataParser.parse(resp.content)
        except Exception as exc:  # lxml / python3-saml raise assorted errors on bad XML
            raise MetadataError(f"the IdP metadata at {self.metadata_url} is not valid SAML metadata: {exc}") from exc
        idp = parsed.get("idp") or {}
        if not idp.get("entityId"):
            raise MetadataError("the IdP metadata holds no IDPSSODescriptor / entityID")
        if not (idp.get("singleSignOnService") or {}).get("url"):
            raise MetadataError("the IdP metadata lists no SingleSignOnService with the HTTP-Redirect binding")
        if not (idp.get("x509cert") or (idp.get("x509certMulti") or {}).get("signing")):
            raise MetadataError("the IdP metadata holds no signing certificate")
        return idp

    def idp_settings(self, force: bool = False) -> tuple[dict, bool]:
        """(idp settings, fresh?) — from the cache when younger than metadata_cache_seconds."""
        now = time.monotonic()
        with self._lock:
            cached = self._metadata
        if not force and cached and now - cached[0] < self.metadata_cache_seconds:
            return cached[1], False
        idp = self.fetch_idp_settings()
        with self._lock:
            self._metadata = (time.monotonic(), idp)
        return idp, True

    def settings(self, idp: dict) -> dict:
        """python3-saml settings: strict, signed Response and Assertion demanded, SHA-1 refused."""
        sp: dict[str, Any] = {
            "entityId": self.sp_entity_id,
            "assertionConsumerService": {"url": self.acs_url, "binding": C.BINDING_HTTP_POST},
            "NameIDFormat": self.nameid_format,
        }
        if self.slo_url:
            sp["singleLogoutService"] = {"url": self.slo_url, "binding": C.BINDING_HTTP_REDIRECT}
        return {
            "strict": True,
            "debug": False,
            "sp": sp,
            "idp": idp,
            "security": {
                "wantAssertionsSigned": True,
                "wantMessagesSigned": True,
                "rejectDeprecatedAlgorithm": True,
                "wantNameId": True,
                "wantAttributeStatement": True,
                "authnRequestsSigned": False,
                "logoutRequestSigned": False,
                "logoutResponseSigned": False,
                # Password login over plain local HTTP cannot honour PasswordProtectedTransport.
                "requestedAuthnContext": False,
                "signatureAlgorithm": C.RSA_SHA256,
                "digestAlgorithm": C.SHA256,
                "allowSingleLabelDomains": True,  # http://localhost:3001/...
            },
        }

    def _request_data(self, path: str, get: dict | None = None, post: dict | None = None) -> dict:
        """The request as python3-saml wants it, built from the SP's own configured URL.

        The Destination/Recipient checks then compare against the ACS URL this SP announced,
        whatever Host header the browser used.
        """
        parts = urlsplit(self.base_url)
        return {
            "https": "on" if parts.scheme == "https" else "off",
            "http_host": parts.netloc,
            "script_name": path,
            "get_data": dict(get or {}),
            "post_data": dict(post or {}),
        }

    def _auth(self, idp: dict, path: str, get: dict | None = None, post: dict | None = None) -> OneLogin_Saml2_Auth:
        return OneLogin_Saml2_Auth(self._request_data(path, get, post), old_settings=self.settings(idp))

    # -- SP-initiated login -------------------------------------------------------------

    def login_redirect(self, relay_state: str | None = "/") -> tuple[str, str]:
        """(redirect URL to the IdP SSO service with a deflated AuthnRequest, request ID)."""
        idp, _ = self.idp_settings()
        auth = self._auth(idp, urlsplit(self.acs_url).path)
        url = auth.login(return_to=relay_state)
        request_id = auth.get_last_request_id()
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            self._pending[request_id] = (now, relay_state)
            while len(self._pending) > MAX_PENDING:
                self._pending.popitem(last=False)
        return url, request_id

    def pending_request_ids(self) -> list[str]:
        with self._lock:
            self._expire(time.monotonic())
            return list(self._pending)

    def _expire(self, now: float) -> None:
        for store in (self._pending, self._pending_logout):
            for key in [k for k, v in store.items() if now - (v[0] if isinstance(v, tuple) else v) > PENDING_TTL_SECONDS]:
                del store[key]

    # -- ACS ----------------------------------------------------------------------------

    @staticmethod
    def peek_in_response_to(saml_response: str) -> str | None:
        """The Response's InResponseTo, read before validation (to pick the request ID)."""
        try:
            root = OneLogin_Saml2_XML.to_etree(OneLogin_Saml2_Utils.b64decode(saml_response))
        except Exception as exc:
            raise ValueError(f"the SAMLResponse is not base64-encoded XML: {exc}") from exc
        if root.tag != "{%s}Response" % C.NS_SAMLP:
            raise ValueError(f"the SAMLResponse root element is {root.tag}, not samlp:Response")
        return root.get("InResponseTo") or None

    def process_acs(self, post: dict[str, str]) -> AcsResult:
        relay_state = post.get("RelayState")
        saml_response = post.get("SAMLResponse") or ""
        result = AcsResult(ok=False, flow="unknown", relay_state=relay_state)
        try:
            self._process(saml_response, result)
        finally:
            with self._lock:
                self.sign_ins.appendleft(result.summary())
        log.info("ACS %s %s nameid=%s errors=%s reason=%s", "OK" if result.ok else "REJECTED",
                 result.flow, result.nameid, result.errors, result.reason)
        return result

    def _fail(self, result: AcsResult, error: str, reason: str) -> None:
        result.ok = False
        result.errors = [error]
        result.reason = reason

    def _process(self, saml_response: str, result: AcsResult) -> None:
        if not saml_response:
            return self._fail(result, "invalid_binding", "no SAMLResponse in the POST (HTTP-POST binding expected)")
        if len(saml_response) > MAX_SAML_RESPONSE_CHARS:
            return self._fail(result, "invalid_response", "the SAMLResponse is larger than 2 MB")
        try:
            in_response_to = self.peek_in_response_to(saml_response)
        except ValueError as exc:
            return self._fail(result, "invalid_response", str(exc))
        result.in_response_to = in_response_to
        result.flow = "sp-initiated" if in_response_to else "idp-initiated"
        if in_response_to:
            with self._lock:
                self._expire(time.monotonic())
                known = in_response_to in self._pending
            if not known:
                return self._fail(result, "invalid_response",
                                  f"InResponseTo {in_response_to!r} matches no AuthnRequest this SP sent "
                                  "(unknown, expired or already used)")
        try:
            idp, fresh = self.idp_settings()
        except MetadataError as exc:
            return self._fail(result, "idp_metadata", str(exc))

        auth = self._validate(idp, saml_response, in_response_to)
        if auth.get_errors() and not fresh:
            # The cached metadata may predate a key rotation or a re-created app: re-read once.
            try:
                idp, _ = self.idp_settings(force=True)
            except MetadataError as exc:
                return self._fail(result, "idp_metadata", str(exc))
            auth = self._validate(idp, saml_response, in_response_to)

        try:
            result.response_xml = auth.get_last_response_xml(pretty_print_if_possible=True)
        except Exception:  # noqa: BLE001 - the Response XML is only shown; one python3-saml cannot print is left out
            result.response_xml = None
        if auth.get_errors() or not auth.is_authenticated():
            result.errors = list(auth.get_errors()) or ["not_authenticated"]
            result.reason = auth.get_last_error_reason() or "the Response was not accepted"
            return None

        message_id, assertion_id = auth.get_last_message_id(), auth.get_last_assertion_id()
        now = time.monotonic()
        with self._lock:
            replayed = message_id in self._seen_ids or assertion_id in self._seen_ids
            if not replayed:
                for seen in (message_id, assertion_id):
                    if seen:
                        self._seen_ids[seen] = now
                while len(self._seen_ids) > MAX_SEEN_IDS:
                    self._seen_ids.popitem(last=False)
                if in_response_to:
                    self._pending.pop(in_response_to, None)
        if replayed:
            return self._fail(result, "replayed_response",
                              f"Response {message_id} / Assertion {assertion_id} was already used to sign in")

        result.ok = True
        result.nameid = auth.get_nameid()
        result.nameid_format = auth.get_nameid_format()
        result.nameid_nq = auth.get_nameid_nq()
        result.nameid_spnq = auth.get_nameid_spnq()
        result.session_index = auth.get_session_index()
        result.session_expiration = auth.get_session_expiration()
        result.attributes = {k: [str(v) for v in vals] for k, vals in auth.get_attributes().items()}
        result.authn_contexts = list(auth.get_last_authn_contexts() or [])
        result.message_id, result.assertion_id = message_id, assertion_id
        result.issuer = idp.get("entityId")
        return None

    def _validate(self, idp: dict, saml_response: str, request_id: str | None) -> OneLogin_Saml2_Auth:
        auth = self._auth(idp, urlsplit(self.acs_url).path, post={"SAMLResponse": saml_response})
        try:
            auth.process_response(request_id=request_id)
        except Exception as exc:  # noqa: BLE001 - malformed input python3-saml does not catch itself
            auth._errors = ["invalid_response"]
            auth._error_reason = f"{type(exc).__name__}: {exc}"
        return auth

    # -- SP-initiated single logout (best effort) ---------------------------------------

    def logout_redirect(self, session: dict) -> str | None:
        """Redirect URL for an SP-initiated LogoutRequest, or None when the IdP has no SLO service."""
        if not self.slo_url:
            return None
        idp, _ = self.idp_settings()
        if not (idp.get("singleLogoutService") or {}).get("url"):
            return None
        auth = self._auth(idp, urlsplit(self.slo_url).path)
        url = auth.logout(return_to="/", name_id=session.get("nameid"), session_index=session.get("session_index"),
                          nq=session.get("nameid_nq"), name_id_format=session.get("nameid_format"),
                          spnq=session.get("nameid_spnq"))
        with self._lock:
            self._pending_logout[auth.get_last_request_id()] = time.monotonic()
        return url

    def process_slo(self, get: dict[str, str], raw_query: str) -> tuple[list[str], str | None, str | None]:
        """Handle a LogoutResponse/LogoutRequest on the SLO URL: (errors, reason, redirect)."""
        idp, _ = self.idp_settings()
        data = self._request_data(urlsplit(self.slo_url or "/saml/slo").path, get=get)
        data["query_string"] = raw_query  # signatures are over the raw query octets
        data["validate_signature_from_qs"] = True
        auth = OneLogin_Saml2_Auth(data, old_settings=self.settings(idp))
        request_id = None
        if "SAMLResponse" in get:
            if len(get["SAMLResponse"]) > MAX_SAML_RESPONSE_CHARS:
                return ["invalid_logout_response"], "the SAMLResponse is too large", None
            try:
                inflater = zlib.decompressobj(-15)  # capped: decode_base64_and_inflate has no limit
                xml = inflater.decompress(base64.b64decode(get["SAMLResponse"]), MAX_METADATA_BYTES)
                if inflater.unconsumed_tail:
                    raise ValueError("inflates to more than 1 MB")
                request_id = OneLogin_Saml2_XML.to_etree(xml).get("InResponseTo")
            except Exception as exc:  # noqa: BLE001 - base64, inflate and XML each fail their own way: all are a bad LogoutResponse
                return ["invalid_logout_response"], f"the LogoutResponse is not deflated XML: {exc}", None
            with self._lock:
                if request_id not in self._pending_logout:
                    return (["invalid_logout_response"],
                            f"InResponseTo {request_id!r} matches no LogoutRequest this SP sent", None)
        try:
            redirect = auth.process_slo(keep_local_session=True, request_id=request_id)
        except Exception as exc:  # noqa: BLE001 - python3-saml's SLO fails malformed input in many ways: the SP answers, never crashes
            return ["invalid_logout"], f"{type(exc).__name__}: {exc}", None
        errors = list(auth.get_errors())
        if not errors and request_id:
            with self._lock:
                self._pending_logout.pop(request_id, None)
        return errors, auth.get_last_error_reason(), redirect
