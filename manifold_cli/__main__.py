"""`python -m manifold_cli`: the `manifold` command without its entry-point script."""

from .cli import main

main()
