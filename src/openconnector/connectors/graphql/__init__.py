"""The ``graphql`` source type: queries over the shared HTTP transport, Relay/offset/page pagination."""

from openconnector.connectors.graphql.connector import GraphQLConnector
from openconnector.connectors.graphql.options import GraphQLRead, GraphQLSource, RelayPagination
from openconnector.connectors.graphql.paging import RelayPager

__all__ = ["GraphQLConnector", "GraphQLRead", "GraphQLSource", "RelayPager", "RelayPagination"]
