"""SAML unit tests: no AWS, no sockets (the test SPs are in idp_testing.saml_sp and idp_testing.pysaml2_sp)."""
