"""The audit tests drive the SAML routes with the sign-on tests' fixture (moto, a user bound to a signed-request app)."""
from tests.integration.saml.test_saml_lambda_routes import env  # noqa: F401 - a fixture, used by name
