"""Connectors: the only code that talks to a platform, and the only importers of tweepy and
facebook-sdk.

Each connector offers the whole `connectors.protocol.Connector` (what its platform cannot do
raises `Unsupported`), speaks the project's domain types (`connectors.domain`), declares what its
platform can do and why not (`connectors.capabilities`), and translates every SDK or HTTP error
into one of the four project errors in `connectors.errors`; a fault in its own code is a
`ConnectorBug` (`connectors.bugs`), never an outage. No SDK type ever leaves this package.
"""
