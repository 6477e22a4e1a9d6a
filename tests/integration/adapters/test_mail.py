"""Email (issue 26, item 1) where it runs: the `Container` built from settings as a Lambda function builds
it sends through Amazon SES v2 (moto's SES, which refuses a sender identity that is not verified, as SES
does), and a message that cannot be sent is logged and counted (MailSendFailures), never raised, and
never puts its addresses or body (which may carry a link with a token) in the log."""
from __future__ import annotations

import json

import boto3

SENDER = "idp@mail.example.com"
VALUES = {"name": "Ann Archer", "username": "ann", "when": "2026-12-07 10:00 UTC", "factor": "An authenticator app",
          "added": True}


def _container(monkeypatch, **env):
    from idp import bootstrap

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")  # the metric is what some of these tests look for
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    bootstrap.reset()
    return bootstrap.container()


def _sent_last_24h() -> float:
    return boto3.client("ses", region_name="us-east-1").get_send_quota()["SentLast24Hours"]


def test_the_lambda_container_sends_through_ses_from_the_verified_sender(aws_env, monkeypatch):
    boto3.client("sesv2", region_name="us-east-1").create_email_identity(EmailIdentity=SENDER)
    postman = _container(monkeypatch, MAIL_SENDER=SENDER).postman
    assert type(postman.mailer).__name__ == "SesMailer"
    assert postman.send("factor_changed", "ann@example.com", "https://idp.example.com", **VALUES) is True
    assert _sent_last_24h() == 1


def test_an_unverified_sender_is_counted_not_raised_and_nothing_personal_is_logged(aws_env, monkeypatch, capsys, caplog):
    postman = _container(monkeypatch, MAIL_SENDER="nobody@unverified.example.com").postman
    link = "https://idp.example.com/activate?token=SECRET-TOKEN-123"
    assert postman.send("factor_changed", "ann@example.com", link, **VALUES) is False
    assert _sent_last_24h() == 0
    out = capsys.readouterr().out
    metrics = [json.loads(line) for line in out.splitlines() if '"_aws"' in line]
    assert any("MailSendFailures" in m for m in metrics), out
    logged = out + caplog.text
    assert "SES refused the message: MessageRejected" in caplog.text
    for private in ("ann@example.com", "SECRET-TOKEN-123", "Ann Archer"):
        assert private not in logged


def test_without_a_sender_nothing_is_sent_and_each_message_is_counted(aws_env, monkeypatch, capsys):
    monkeypatch.delenv("MAIL_SENDER", raising=False)
    postman = _container(monkeypatch).postman
    assert postman.send("password_changed", "ann@example.com", "https://idp.example.com", name="Ann", username="ann",
                        when="now", how="") is False
    assert "MailSendFailures" in capsys.readouterr().out


def test_a_user_without_an_address_gets_nothing_and_it_is_no_failure(aws_env, monkeypatch, capsys):
    postman = _container(monkeypatch, MAIL_SENDER=SENDER).postman
    assert postman.send("factor_changed", None, "https://idp.example.com", **VALUES) is False
    assert "MailSendFailures" not in capsys.readouterr().out


def test_the_html_part_escapes_what_the_directory_holds():
    from idp.kernel.mail import render

    email = render("factor_changed", "a@example.com", product="IdP", base_url="https://idp.example.com",
                   **{**VALUES, "name": "<script>x</script>"})
    assert "<script>" not in email.html and "&lt;script&gt;" in email.html
    assert email.subject == "A sign-in method was added to your IdP account"
    assert "https://idp.example.com/account" in email.text
