"""The console's Lambda handler, loaded from functions/console/app.py as Lambda loads it, fed the sample event."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from idp_testing.lambda_events import LambdaContext

ROOT = Path(__file__).resolve().parents[3]


def test_console_handler_sends_a_browser_without_a_session_to_the_login(aws_env):
    spec = importlib.util.spec_from_file_location("handler_console", ROOT / "functions" / "console" / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    event = json.loads((ROOT / "events" / "http_console.json").read_text())
    answer = module.lambda_handler(event, LambdaContext())
    assert answer["statusCode"] == 302 and answer["headers"]["Location"].startswith("/login?state=")
    assert answer["headers"]["X-Frame-Options"] == "DENY"
    css = module.lambda_handler({**event, "rawPath": "/console/assets/console.css",
                                 "requestContext": {**event["requestContext"], "http": {
                                     **event["requestContext"]["http"], "path": "/console/assets/console.css"}}},
                                LambdaContext())
    assert css["statusCode"] == 200 and ".badge" in css["body"]
