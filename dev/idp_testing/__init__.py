"""Test support shared by the tests and the benchmarks (never shipped in the Lambda layer): fakes of the
ports, a SCIM server with fault injection, moto setup and the SQS drain, Lambda events and contexts,
strict test SPs, and the local stack as a subprocess."""
