"""Admin API input validation: unknown fields rejected, errors name the field."""
import pytest

from idp.directory import models
from idp.kernel.errors import DomainError


def _err(model, body):
    with pytest.raises(DomainError) as caught:
        models.parse(model, body)
    return caught.value


def test_valid_user_defaults_to_active():
    user = models.parse(models.UserCreate, {"username": "ada", "email": "ada@example.com", "firstname": "Ada", "lastname": "L"})
    assert user.state == "ACTIVE" and user.password is None


@pytest.mark.parametrize("body,code,field", [
    ({"email": "a@b.co", "firstname": "A", "lastname": "B"}, "missing_field", "username"),
    ({"username": "a", "email": "a@b.co", "firstname": "A", "lastname": "B", "extra": 1}, "unknown_field", "extra"),
    ({"username": "a b", "email": "a@b.co", "firstname": "A", "lastname": "B"}, "invalid_field", "username"),
    ({"username": "a", "email": "a-at-b", "firstname": "A", "lastname": "B"}, "invalid_field", "email"),
    ({"username": "a", "email": "a@b.co", "firstname": "", "lastname": "B"}, "invalid_field", "firstname"),
])
def test_user_errors_name_the_field(body, code, field):
    err = _err(models.UserCreate, body)
    assert err.status == 400 and err.code == code and f"'{field}'" in err.message


def test_app_relay_state_and_attribute_mapping_are_checked():
    base = {"slug": "os", "label": "OS", "sp_entity_id": "x", "acs_urls": ["https://x/acs"]}
    assert "80 bytes" in _err(models.AppCreate, {**base, "default_relay_state": "é" * 41}).message
    assert "unknown user field" in _err(models.AppCreate, {**base, "attributes": {"mail": "shoe_size"}}).message
    assert _err(models.AppCreate, {**base, "acs_urls": []}).code == "invalid_field"
    assert _err(models.AppCreate, {**base, "sign": "never"}).code == "invalid_field"


def test_body_must_be_an_object():
    assert _err(models.GroupCreate, ["x"]).code == "invalid_body"


def test_provisioning_url_is_normalised():
    prov = models.parse(models.ProvisioningSettings, {"base_url": "https://x.example/scim/v2/", "token": "t"})
    assert prov.base_url == "https://x.example/scim/v2" and prov.enabled is True and prov.group_management is False


@pytest.mark.parametrize("entity_id,ok", [
    ("acme.officespacesoftware.com", True), ("https://sp.example/metadata", True), ("urn:acme:sp", True),
    ("127.0.0.1", True), ("127.0.0.1:3001", False), ("has space", False),
])
def test_sp_entity_id_must_be_a_uri(entity_id, ok):
    body = {"slug": "os", "label": "OS", "sp_entity_id": entity_id, "acs_urls": ["https://x/acs"]}
    if ok:
        assert models.parse(models.AppCreate, body).sp_entity_id == entity_id
    else:
        assert "sp_entity_id" in _err(models.AppCreate, body).message
