"""The application layer: one use case per thing an administrator or an SP does, each taking and returning
typed values (frozen dataclasses), over the domain services and their ports. The composition root
(`idp.bootstrap.Container`) builds them; the web (the admin API and the console alike) parses a request, calls
one use case and renders what it returns. It imports the domain, the protocol packages and the kernel, never
`idp.adapters` (import-linter)."""
