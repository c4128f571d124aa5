"""Progress bars of long runs (files read, recordings fitted, time left), drawn by tqdm on a
terminal's stderr; nothing when stderr is not a terminal (piped, redirected, CI) or with
``--no-progress``."""

import sys

__all__ = ["progress_bar"]


def progress_bar(enabled: bool, what: str, unit: str):
    """A ``progress(done, total)`` callable updating one bar, or None when there is nothing to
    draw on. The bar appears at the first call with ``total`` >= 2 and closes at ``total``.

    Args:
      enabled: False for ``--no-progress``.
      what: the bar's label, e.g. "reading".
      unit: what is counted, e.g. "file", "fit".
    """
    if not enabled or not sys.stderr.isatty():
        return None
    import os

    from tqdm import tqdm

    try:  # a terminal that reports no size (a bare pty, some editors' shells): 80 x 24; tqdm
        # would hide its bar below a screen of 0 lines
        sized = min(os.get_terminal_size(sys.stderr.fileno())) > 0
    except OSError:
        sized = False
    size = {"dynamic_ncols": True} if sized else {"ncols": 80, "nrows": 24}

    state = {}

    def progress(done, total):
        if total < 2:
            return
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = tqdm(total=total, desc=what, unit=unit, file=sys.stderr,
                                      leave=False, **size)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return progress
