"""One module per `manifold` command; each registers itself on manifold_cli.app.app."""
