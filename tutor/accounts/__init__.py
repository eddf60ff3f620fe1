"""Accounts and access: who is calling and what they may do.

- ``users``: accounts, roles, browser sessions and API tokens (``AccountService``).
- ``access``: the one access policy (``Access(user)``), asked by every route and service.
- ``login_throttle``: failed logins counted per account and per address.
- ``privacy``: everything stored about a trainee, exported or deleted.
"""
