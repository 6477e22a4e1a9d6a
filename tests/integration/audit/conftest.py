"""The audit tests drive the SAML routes with the sign-on tests' fixture (moto, a user bound to a signed-request app),
and the console's routes with its fixtures (an administrator signed in to the console, a plain user)."""
from tests.integration.console.conftest import admin_browser, app, people  # noqa: F401 - fixtures, used by name
from tests.integration.saml.test_saml_lambda_routes import env  # noqa: F401 - a fixture, used by name
