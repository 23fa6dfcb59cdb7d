"""The order page's tests use the web pages' small world (tests/web/conftest.py): two
subgroups, a customer with a facility and machines, a few articles and a work order in Väst.
A module that defines its own `world` (test_protocol.py, test_signature.py) uses that one."""

from tests.web.conftest import world  # noqa: F401
