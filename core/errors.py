"""The one error type a user sees: something they can fix, said in one line that tells them how.

Raised anywhere in the pipeline (reading tiles, training, export, the runtime); the CLI turns it
into `error: <message>` and an exit status (see `manifold_cli.cli`). Anything else that escapes is
a bug in manifold.
"""


class UserError(ValueError):
    """A problem with the user's input or environment, said in one line that tells what to do."""
