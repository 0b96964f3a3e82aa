"""OpenID Connect sign-in, all of it: the provider protocol (`client`), what a verified identity means for our
accounts (`services`) and the two endpoints (`views`)."""
