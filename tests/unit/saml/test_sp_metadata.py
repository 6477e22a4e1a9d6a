"""Reading an SP's metadata into the app's SP fields (the console's "fill from metadata")."""
from __future__ import annotations

import pytest

from idp.saml.errors import SamlRequestError
from idp.saml.sp_metadata import read_sp_metadata

MD = """<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"
  entityID="acme.officespacesoftware.com">
 <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="true">
  <md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>ENC</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
  <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
    MIIB
    SIGN</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
  <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://acme.officespacesoftware.com/saml/slo"/>
  <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://acme.officespacesoftware.com/b" index="2"/>
  <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact" Location="https://acme.officespacesoftware.com/art" index="0"/>
  <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://acme.officespacesoftware.com/a" index="1"/>
 </md:SPSSODescriptor>
</md:EntityDescriptor>"""


def test_the_sp_fields_come_out_of_the_metadata():
    md = read_sp_metadata(MD)
    assert md.entity_id == "acme.officespacesoftware.com"
    assert md.acs_urls == ("https://acme.officespacesoftware.com/a", "https://acme.officespacesoftware.com/b")
    assert md.slo_url == "https://acme.officespacesoftware.com/saml/slo" and md.certificate == "MIIBSIGN"


@pytest.mark.parametrize("xml,needle", [
    ("not xml", "well-formed"),
    ('<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>', "DOCTYPE"),
    ('<x xmlns="urn:other"/>', "EntityDescriptor"),
    (MD.replace("SPSSODescriptor", "IDPSSODescriptor"), "SPSSODescriptor"),
    (MD.replace("HTTP-POST", "PAOS"), "HTTP-POST"),
])
def test_bad_metadata_says_what_is_wrong(xml, needle):
    with pytest.raises(SamlRequestError) as caught:
        read_sp_metadata(xml)
    assert needle in caught.value.message
