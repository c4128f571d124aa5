"""``ionjax analyze --recipe FILE.toml``: the protocol and its options from a TOML file, put
before the command line's own options (which therefore override them)."""

from __future__ import annotations

import argparse
import sys

__all__ = ["with_recipe"]


def _recipe_tokens(parser: argparse.ArgumentParser, path: str) -> list:
    """Command-line tokens of a TOML recipe for ``ionjax analyze``: each key an option of the
    command (``protocol = "tail"``, ``window = "5ms,30%"``, ``epoch = 8``, ``e_rev = "50mV"``;
    hyphens or underscores), each value as it would be typed (a string or a number)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            parser.error("--recipe needs Python >= 3.11 or the tomli package")
    try:
        with open(path, "rb") as handle:
            recipe = tomllib.loads(handle.read().decode("utf-8"))
    except OSError as exc:
        parser.error(f"--recipe {path}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        parser.error(f"--recipe {path}: not a TOML text file (not UTF-8); a recipe is a text "
                     "file such as: protocol = \"tail\"")
    except tomllib.TOMLDecodeError as exc:
        parser.error(f"--recipe {path}: not valid TOML ({exc})")
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    options = {o for a in sub.choices["analyze"]._actions for o in a.option_strings}
    tokens, keys = [], {}
    for key, value in recipe.items():
        flag = "--" + str(key).replace("_", "-")
        if flag not in options or flag in ("--help", "--recipe", "--out", "--plot", "--iv-out"):
            parser.error(f"--recipe {path}: {key!r} is not an option a recipe can set "
                         "(see ionjax analyze --help; outputs are given on the command line)")
        if flag in keys:  # series-resistance and series_resistance: one option twice
            parser.error(f"--recipe {path}: {keys[flag]!r} and {key!r} both set {flag}; "
                         "keep one")
        keys[flag] = key
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            parser.error(f"--recipe {path}: {key} = {value!r}: give a string or a number")
        tokens += [flag, str(value)]
    return tokens


def _is_recipe(token: str) -> bool:
    """``--recipe``, ``--recipe=FILE`` or an abbreviation argparse takes for it (``--rec``)."""
    flag = token.split("=", 1)[0]
    return len(flag) >= len("--rec") and "--recipe".startswith(flag)


def with_recipe(parser: argparse.ArgumentParser, argv: list | None) -> list:
    """argv with a recipe's options put first after ``analyze`` (the command line's own
    options, which come later, override them)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "analyze" not in argv:
        return argv
    given = [t for t in argv if _is_recipe(t)]
    if len(given) > 1:
        parser.error("--recipe is given more than once; one recipe per command (options on "
                     "the command line override it)")
    for k, token in enumerate(argv):
        if _is_recipe(token):
            path = token.split("=", 1)[1] if "=" in token else \
                (argv[k + 1] if k + 1 < len(argv) else parser.error("--recipe needs a file"))
            rest = argv[:k] + argv[k + (1 if "=" in token else 2):]
            at = rest.index("analyze") + 1
            return rest[:at] + _recipe_tokens(parser, path) + rest[at:]
    return argv
