"""A person's own account: sign-up, the email links (verification, password reset), password and profile."""
