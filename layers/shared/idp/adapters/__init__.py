"""Adapters: DynamoDB, SSM, Secrets Manager, SQS and the SCIM HTTP transport, each behind the small
interface the domain asks for. Only the composition root (idp.bootstrap) builds them."""
