"""The login function's cold start: its routes load py_webauthn and segno only when a passkey or an
enrolment request needs them (py_webauthn takes about a quarter of a second to import), and pydantic only
where a policy body is validated (the admin API, the console)."""
from __future__ import annotations

import subprocess
import sys


def test_the_login_routes_import_no_passkey_or_qr_library():
    code = ("import sys, idp.web.saml_routes; "
            "print(sorted(m for m in ('webauthn', 'segno', 'cbor2', 'OpenSSL', 'pydantic') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
