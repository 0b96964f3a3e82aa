"""Signing in and out with a password: tokens, their rotation and their revocation."""
