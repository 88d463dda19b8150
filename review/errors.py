"""The one error the review raises for a user's mistake or a broken input: its message is one line."""


class ReviewError(RuntimeError):
    """Something the user can fix (missing cdk.out, unknown git ref, synth failing); the message says what."""
