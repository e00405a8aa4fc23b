"""CRM tests reuse the fake platform server of the channel tests."""

from tests.channels.conftest import fake

__all__ = ["fake"]
