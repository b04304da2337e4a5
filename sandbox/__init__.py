"""The sandbox: a loopback HTTP server that speaks the subset of the X API v2 and the Facebook
Graph API that Steward uses, with the JSON shapes of the real APIs.

It is Steward's embedded default: with no platform credentials, the real tweepy and facebook-sdk
clients talk to it instead of the platforms, so the whole service can run (and be tested) on a
machine with no accounts. It keeps state (posts, media, followers, following, replies, comments,
hidden replies, blocks, mutes, DMs, settings), can persist it to a file, injects faults on demand,
and exposes its state at `GET /_sandbox/state`.
"""
