"""The one exception type that reaches the user as a one-line message."""


class MuseforgeError(Exception):
    """A problem the user can fix; the CLI prints ``str(err)`` on one line and exits non-zero."""
