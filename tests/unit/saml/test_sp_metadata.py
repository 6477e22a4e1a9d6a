"""Reading an SP's metadata into the app's SP fields (the console's "fill from metadata")."""
from __future__ import annotations

import pytest

from idp.saml.errors import SamlRequestError
from idp.saml.sp_metadata import read_sp_metadata
from idp_testing.saml_sp import SP_METADATA


def test_the_sp_fields_come_out_of_the_metadata():
    md = read_sp_metadata(SP_METADATA)
    assert md.entity_id == "acme.officespacesoftware.com"
    assert md.acs_urls == ("https://acme.officespacesoftware.com/a", "https://acme.officespacesoftware.com/b")
    assert md.slo_url == "https://acme.officespacesoftware.com/saml/slo" and md.certificate == "MIIBSIGN"


@pytest.mark.parametrize("xml,needle", [
    ("not xml", "well-formed"),
    ('<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>', "DOCTYPE"),
    ('<x xmlns="urn:other"/>', "EntityDescriptor"),
    (SP_METADATA.replace("SPSSODescriptor", "IDPSSODescriptor"), "SPSSODescriptor"),
    (SP_METADATA.replace("HTTP-POST", "PAOS"), "HTTP-POST"),
])
def test_bad_metadata_says_what_is_wrong(xml, needle):
    with pytest.raises(SamlRequestError) as caught:
        read_sp_metadata(xml)
    assert needle in caught.value.message
