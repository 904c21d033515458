"""A mock of the national identity service.

Citizens, their face templates, 1:1 verification and 1:N identification.
"""
