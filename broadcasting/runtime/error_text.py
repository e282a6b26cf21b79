"""An error as one log line: psycopg's connection errors span several (a hint on a line of its own)."""


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
