"""API tokens: bearer tokens with a role, of which only a hash is stored."""

from openconnector.auth.roles import ROLES, Role, allows
from openconnector.auth.tokens import CreatedToken, Principal, TokenExists, TokenStore

__all__ = ["ROLES", "CreatedToken", "Principal", "Role", "TokenExists", "TokenStore", "allows"]
