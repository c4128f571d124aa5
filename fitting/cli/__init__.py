"""What a person runs or looks at: the ``ionjax`` command (``cli`` parses, ``commands`` runs),
the bundled example (``example``, ``data``) and figures (``plot``, public as ``fitting.plot``).

Imports ``fitting.engine``, ``fitting.io`` and ``ionjax``; nothing imports ``fitting.cli`` but
the ``ionjax`` console script and ``fitting.plot``.
"""
