"""Enveloped XML signatures with python-xmlsec (RSA-SHA256, SHA-256, exc-c14n, X509 in KeyInfo); the
loaded ``xmlsec.Key`` is cached per kid across calls (warm Lambda invocations), since parsing the PEM
on every signature roughly doubles the cost of the first one."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import xmlsec
from lxml import etree

from idp.saml import constants as C

_CACHE_SIZE = 64
_cache: "OrderedDict[str, tuple[str, xmlsec.Key]]" = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class SigningKey:
    private_key_pem: str
    certificate_pem: str
    kid: str = ""  # cache key; empty: derived from the PEMs


def _digest(key: SigningKey) -> str:
    return hashlib.sha256((key.private_key_pem + "\0" + key.certificate_pem).encode()).hexdigest()


def load_key(key: SigningKey) -> xmlsec.Key:
    """The ``xmlsec.Key`` (with its certificate) for ``key``, from the LRU cache when possible."""
    digest = _digest(key)
    cache_id = key.kid or digest
    with _lock:
        hit = _cache.get(cache_id)
        if hit is not None and hit[0] == digest:
            _cache.move_to_end(cache_id)
            return hit[1]
    try:
        xkey = xmlsec.Key.from_memory(key.private_key_pem, xmlsec.constants.KeyDataFormatPem, None)
        xkey.load_cert_from_memory(key.certificate_pem, xmlsec.constants.KeyDataFormatCertPem)
    except xmlsec.Error as exc:
        raise ValueError(f"cannot load the signing key {key.kid or ''}: {exc}") from None
    with _lock:
        _cache[cache_id] = (digest, xkey)
        _cache.move_to_end(cache_id)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return xkey


def cache_info() -> dict[str, object]:
    with _lock:
        return {"size": len(_cache), "kids": list(_cache)}


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def sign_element(elem: etree._Element, key: SigningKey) -> None:
    """Sign ``elem`` in place (enveloped); the Signature goes right after its ``saml:Issuer``.

    ``elem`` must carry an ``ID`` attribute. Sign inner elements (the Assertion) before
    outer ones (the Response).
    """
    elem_id = elem.get("ID")
    if not elem_id:
        raise ValueError("element to sign has no ID")
    sig = xmlsec.template.create(elem, xmlsec.constants.TransformExclC14N, xmlsec.constants.TransformRsaSha256, ns="ds")
    issuer = elem.find(f"{{{C.NS_SAML}}}Issuer")
    if issuer is not None:
        issuer.addnext(sig)
    else:
        elem.insert(0, sig)
    ref = xmlsec.template.add_reference(sig, xmlsec.constants.TransformSha256, uri="#" + elem_id)
    xmlsec.template.add_transform(ref, xmlsec.constants.TransformEnveloped)
    xmlsec.template.add_transform(ref, xmlsec.constants.TransformExclC14N)
    key_info = xmlsec.template.ensure_key_info(sig)
    xmlsec.template.add_x509_data(key_info)
    ctx = xmlsec.SignatureContext()
    ctx.key = load_key(key)
    ctx.register_id(elem, "ID")
    ctx.sign(sig)
