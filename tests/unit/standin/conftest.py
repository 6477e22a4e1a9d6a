"""Unit tests of the OfficeSpace stand-in: no sockets (WSGI driven in-process, IdP metadata stubbed)."""
