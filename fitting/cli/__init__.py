"""The ``ionjax`` command: it parses, calls the API, writes. Nothing else lives here.

    main         the parser, built from the registries (``arguments``), and the dispatch
    arguments    argument types, the recording options, ``--model`` / ``--protocol`` and each
                 protocol's options from the registries; typed ``Options`` from the arguments
    recipe       ``analyze --recipe FILE.toml``
    fit, iv, analyze, traces, calculators, example   the subcommands
    trace_plot   the figure of ``traces``: protocol, data with fit, residuals
    inputs       input files (folders expanded), output checks, provenance
    distributed  ``--distributed``: one command over several processes or hosts
    plot         figures (matplotlib; public as ``fitting.plot``)
    progress, interrupt   progress bars; SIGINT/SIGTERM handling
    data         the bundled synthetic example

Imports ``fitting.protocols``, ``fitting.outputs``, ``fitting.engine``, ``fitting.models``,
``fitting.recordings`` and ``ionjax``; nothing imports ``fitting.cli`` but the ``ionjax``
console script (``fitting.cli.__main__:run``, also ``python -m fitting``) and ``fitting.plot``.
"""

__all__: list[str] = []  # a namespace of modules: import them by name
