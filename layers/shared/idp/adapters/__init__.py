"""Adapters: DynamoDB, SSM, Secrets Manager, SQS and the SCIM HTTP transport, each behind the small
interface the domain asks for. Only the composition root (idp.bootstrap) builds them.

Importing the package teaches `idp.kernel.faults.retry_after` which AWS failures are an outage (throttling, a
5xx, no answer): every AWS call goes through a client an adapter built, so it is taught before one can fail."""
from idp.adapters.aws_faults import retry_after as _aws_retry_after
from idp.kernel import faults as _faults

_faults.recognise(_aws_retry_after)
