"""The `Mailer` in AWS: Amazon SES (API v2, `SendEmail` with simple content) from the configured sender
identity, through its configuration set when one is given. What SES refuses or fails on becomes
`MailNotSent` naming SES's error code; the message itself is never logged."""
from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from idp.kernel.mail import Email, MailNotSent


class SesMailer:
    def __init__(self, client, sender: str, configuration_set: str | None = None):
        self.client = client  # boto3 "sesv2"
        self.sender = sender
        self.configuration_set = configuration_set

    def send(self, email: Email) -> None:
        body = {"Text": {"Data": email.text, "Charset": "UTF-8"}}
        if email.html:
            body["Html"] = {"Data": email.html, "Charset": "UTF-8"}
        kwargs = {"FromEmailAddress": self.sender, "Destination": {"ToAddresses": list(email.to)},
                  "Content": {"Simple": {"Subject": {"Data": email.subject, "Charset": "UTF-8"}, "Body": body}}}
        if self.configuration_set:
            kwargs["ConfigurationSetName"] = self.configuration_set
        try:
            self.client.send_email(**kwargs)
        except ClientError as exc:
            raise MailNotSent(f"SES refused the message: {exc.response.get('Error', {}).get('Code', 'error')}") from None
        except BotoCoreError as exc:
            raise MailNotSent(f"SES did not answer: {type(exc).__name__}") from None
