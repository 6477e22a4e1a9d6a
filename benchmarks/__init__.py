"""Side-by-side benchmarks (`make bench`, `python -m benchmarks`): SAML Response signing against
pysaml2's IdP and the raw-signature floor, Lambda cold starts, SSO through the local stack, and SCIM
provisioning against scim2-server. The report goes to docs/benchmarks.md."""
