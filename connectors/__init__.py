"""Connectors: the only code that talks to a platform, and the only importers of tweepy and
facebook-sdk.

Each connector speaks the project's domain types (`connectors.domain`), declares what its platform
can do (`connectors.capabilities`), and translates every SDK or HTTP error into one of the four
project errors in `connectors.errors`. No SDK type ever leaves this package.
"""
